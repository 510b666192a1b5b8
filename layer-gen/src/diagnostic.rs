// SPDX-License-Identifier: GPL-2.0-or-later
//! What the generator refuses, as data: each refusal names the file, the entity (a
//! command, type, event, HMP entry or command function) and, where it is about one, the
//! part of it (a member, an alternative, a parameter, the return value), with a sentence
//! saying what is wrong and what to do. [`crate::pipeline::generate`] reports every one
//! it finds together, in the schema's order; a build prints them one per line, as
//! `file: entity, part: message`.

use std::fmt;

/// The part of an entity a refusal is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A member of a command, event or struct, by its schema name.
    Member(String),
    /// An alternative of an alternate, by its schema name.
    Alternative(String),
    /// A branch of a union, by its discriminator value.
    Branch(String),
    /// A value of an enum.
    Value(String),
    /// An argument of an HMP entry (its `args_type`), by name.
    Argument(String),
    /// A command's return value.
    ReturnValue,
    /// A command function's parameter, counted from 1 as the compiler counts them.
    Parameter(usize),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Member(m) => write!(f, "member '{m}'"),
            Part::Alternative(a) => write!(f, "alternative '{a}'"),
            Part::Branch(b) => write!(f, "branch '{b}'"),
            Part::Value(v) => write!(f, "value '{v}'"),
            Part::Argument(a) => write!(f, "argument '{a}'"),
            Part::ReturnValue => f.write_str("return value"),
            Part::Parameter(n) => write!(f, "parameter {n}"),
        }
    }
}

/// One refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file it is about: a schema file of `qapi/`, an HMP file, or a command file
    /// `src/commands/<command>.rs`.
    pub file: String,
    /// The entity, as the message names it: `command 'hello-world'`, `struct 'Info'`,
    /// `HMP entry 'hello-world'`, `fn hello_world`.
    pub entity: String,
    /// The part of the entity, if the refusal is about one.
    pub part: Option<Part>,
    /// What is wrong, and what to do about it.
    pub message: String,
}

impl Diagnostic {
    /// A refusal of `entity` in `file`.
    pub(crate) fn new(
        file: impl Into<String>,
        entity: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic { file: file.into(), entity: entity.into(), part: None, message: message.into() }
    }

    /// The same, about `part` of the entity.
    pub(crate) fn at(mut self, part: Part) -> Self {
        self.part = Some(part);
        self
    }

    /// The schema member it is about, if it is about one.
    pub fn member(&self) -> Option<&str> {
        match &self.part {
            Some(Part::Member(m)) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.entity)?;
        if let Some(p) = &self.part {
            write!(f, ", {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Every refusal of one run, in the order found, each once. Displayed one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Adds `d` unless the same refusal is there already.
    pub(crate) fn push(&mut self, d: Diagnostic) {
        if !self.0.contains(&d) {
            self.0.push(d);
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The refusals, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// `r`'s value, or `None` with its refusals kept: the generator goes on past an
    /// entity it refuses, so that one run reports them all.
    pub(crate) fn keep<T>(&mut self, r: Result<T, impl Into<Diagnostics>>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.extend(e.into().0);
                None
            }
        }
    }

    /// `Ok(())` when there is none, else these.
    pub(crate) fn into_result(self) -> Result<(), Diagnostics> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        let mut all = Diagnostics::default();
        all.extend(v);
        all
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        for d in iter {
            self.push(d);
        }
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_reads_file_entity_part_message() {
        let d = Diagnostic::new("qapi/x.json", "command 'x'", "type \"q\" is not supported")
            .at(Part::Member("m".into()));
        assert_eq!(d.to_string(), "qapi/x.json: command 'x', member 'm': type \"q\" is not supported");
        assert_eq!(d.member(), Some("m"));
        let r = Diagnostic::new("qapi/x.json", "command 'x'", "returns a tuple").at(Part::ReturnValue);
        assert_eq!(r.to_string(), "qapi/x.json: command 'x', return value: returns a tuple");
        assert_eq!(r.member(), None);
    }

    #[test]
    fn diagnostics_keep_each_refusal_once_in_order() {
        let a = Diagnostic::new("a.json", "command 'a'", "no");
        let b = Diagnostic::new("b.json", "command 'b'", "no");
        let mut all = Diagnostics::default();
        assert_eq!(all.keep(Ok::<_, Diagnostic>(1)), Some(1));
        assert_eq!(all.keep::<()>(Err(b.clone())), None);
        assert_eq!(all.keep::<()>(Err(vec![a.clone(), b.clone()])), None);
        assert_eq!(all.iter().cloned().collect::<Vec<_>>(), [b, a]);
        assert_eq!(all.to_string(), "b.json: command 'b': no\na.json: command 'a': no");
        assert!(all.into_result().is_err());
        assert!(Diagnostics::default().into_result().is_ok());
    }
}
