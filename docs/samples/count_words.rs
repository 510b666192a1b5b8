use crate::prelude::*;

/// Counts the words of `text`; the longest in capitals, and a summary line.
pub fn count_words(text: &str) -> Result<qapi::WordCount, CommandError> {
    let words: Vec<String> = text.split_whitespace().map(String::from).collect();
    let longest =
        words.iter().max_by_key(|w| w.chars().count()).map(|w| w.to_uppercase()).unwrap_or_default();
    let summary = format!("{} words, the longest has {} letters", words.len(), longest.chars().count());
    let stats = |w: &String| qapi::WordStats { word: GString::new(w), letters: w.chars().count() as i64 };
    let last = words.last().map(stats).unwrap_or(qapi::WordStats { word: GString::new(""), letters: 0 });
    let first = words.first().map(stats);
    Ok(qapi::WordCount {
        count: words.len() as i64,
        longest: longest.into(), // String -> GString: no copy
        words: words.into_iter().map(GString::from).collect(), // QEMU's strList
        summary: summary.into(),
        last,
        first,
    })
}
