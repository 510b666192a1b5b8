// SPDX-License-Identifier: GPL-2.0-or-later
//! The guest as its own kernel describes it: `/proc/sys/kernel/hostname`,
//! `/proc/sys/kernel/osrelease` and the first figure of `/proc/uptime`.

use std::fmt;

/// What `guest-hello-info` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestInfo {
    /// The host name, as `uname -n` prints it.
    pub hostname: String,
    /// The kernel's release, as `uname -r` prints it.
    pub kernel_release: String,
    /// Seconds since boot.
    pub uptime: f64,
}

/// Why the guest could not be described: the file, and what went wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoError {
    pub file: String,
    pub why: String,
}

impl fmt::Display for InfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.file, self.why)
    }
}

pub const HOSTNAME: &str = "/proc/sys/kernel/hostname";
pub const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
pub const UPTIME: &str = "/proc/uptime";

/// The three files read with `read` (the file's text, or the file and the reason),
/// each value the file's text without its newline.
pub fn read(read: impl Fn(&str) -> Result<String, (String, String)>) -> Result<GuestInfo, InfoError> {
    let get = |path: &str| read(path).map_err(|(file, why)| InfoError { file, why });
    let line = |path: &str| -> Result<String, InfoError> {
        let text = get(path)?;
        let value = text.strip_suffix('\n').unwrap_or(&text);
        if value.is_empty() || value.contains('\n') {
            return Err(InfoError { file: path.into(), why: format!("not one line: {text:?}") });
        }
        Ok(value.to_string())
    };
    let uptime_text = get(UPTIME)?;
    let uptime = uptime_text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| InfoError { file: UPTIME.into(), why: format!("no uptime in {uptime_text:?}") })?;
    Ok(GuestInfo { hostname: line(HOSTNAME)?, kernel_release: line(OSRELEASE)?, uptime })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(h: &str, r: &str, u: &str) -> impl Fn(&str) -> Result<String, (String, String)> {
        let (h, r, u) = (h.to_string(), r.to_string(), u.to_string());
        move |p| match p {
            HOSTNAME => Ok(h.clone()),
            OSRELEASE => Ok(r.clone()),
            UPTIME => Ok(u.clone()),
            _ => Err((p.to_string(), "no such file".into())),
        }
    }

    #[test]
    fn reads_what_the_kernel_writes() {
        let got = read(files("hello-guest\n", "6.1.0-57-amd64\n", "12.53 20.10\n")).unwrap();
        assert_eq!(
            got,
            GuestInfo {
                hostname: "hello-guest".into(),
                kernel_release: "6.1.0-57-amd64".into(),
                uptime: 12.53
            }
        );
    }

    #[test]
    fn what_is_not_one_line_or_a_number_is_refused_naming_the_file() {
        let e = read(files("", "r\n", "1 2\n")).unwrap_err();
        assert_eq!(e.file, HOSTNAME);
        let e = read(files("h\n", "r\n", "up\n")).unwrap_err();
        assert_eq!(e.to_string(), "cannot read /proc/uptime: no uptime in \"up\\n\"");
        let e = read(files("h\n", "r\nx\n", "1 2\n")).unwrap_err();
        assert_eq!(e.file, OSRELEASE);
        let e = read(files("h\n", "r\n", "NaN 2\n")).unwrap_err();
        assert_eq!(e.file, UPTIME);
    }

    /// The machine running the test is a Linux host with the same three files.
    #[test]
    fn reads_this_machine() {
        let got = read(|p| std::fs::read_to_string(p).map_err(|e| (p.to_string(), e.to_string()))).unwrap();
        let uname = |flag: &str| {
            let o = tools::command("uname").expect("uname").arg(flag).output().expect("uname runs");
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        assert_eq!(got.kernel_release, uname("-r"));
        assert_eq!(got.hostname, uname("-n"));
        assert!(got.uptime > 0.0);
    }
}
