//! Untrusted text (file names, titles, keywords) made safe to print in a report or log
//! line: one line per problem, and nothing that moves the terminal's cursor or changes
//! its colours (DESIGN §1, "one line naming the file and the reason").

use std::fmt;
use std::path::Path;

/// Shows text with control characters, `\` and other non-printable characters escaped
/// the way [`str::escape_debug`] does (`\n`, `\r`, `\u{1b}`, `\\`), and everything else —
/// CJK, quotes, spaces — as it is. A name holding `\n` cannot split its line, and one
/// holding `\nrejected: …` cannot forge another.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `escape_debug` would also escape quotes, which names and reasons are full of
        // and which cannot hurt a line: they are written as they are, and each run between
        // them escaped (a combining mark is escaped only at the start of a run, as
        // `str::escape_debug` does).
        let mut rest = self.0;
        while let Some(at) = rest.find(['"', '\'']) {
            write!(f, "{}", rest[..at].escape_debug())?;
            f.write_str(&rest[at..at + 1])?;
            rest = &rest[at + 1..];
        }
        write!(f, "{}", rest.escape_debug())
    }
}

/// [`Escaped`] for a path; bytes that are not UTF-8 are shown as `\u{fffd}`.
#[derive(Debug, Clone, Copy)]
pub struct EscapedPath<'a>(pub &'a Path);

impl fmt::Display for EscapedPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Escaped(&self.0.to_string_lossy()))
    }
}

/// Short forms: `escaped(name)`, `escaped_path(&path)`.
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

pub fn escaped_path(path: &Path) -> EscapedPath<'_> {
    EscapedPath(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_backslashes_are_escaped() {
        assert_eq!(escaped("a\nb").to_string(), r"a\nb");
        assert_eq!(escaped("a\rb").to_string(), r"a\rb");
        assert_eq!(
            escaped("\u{1b}[2J\u{1b}[31mred").to_string(),
            r"\u{1b}[2J\u{1b}[31mred"
        );
        assert_eq!(escaped("tab\there").to_string(), r"tab\there");
        assert_eq!(escaped(r"C:\x").to_string(), r"C:\\x");
        assert_eq!(
            escaped("\u{7f}\u{9b}\u{200b}").to_string(),
            r"\u{7f}\u{9b}\u{200b}"
        );
    }

    #[test]
    fn a_forged_line_stays_on_its_own() {
        let name = "articles/x\nrejected: /etc/shadow: forged.txt";
        let line = format!("rejected: {}: no title", escaped(name));
        assert_eq!(line.lines().count(), 1);
        assert_eq!(
            line,
            r"rejected: articles/x\nrejected: /etc/shadow: forged.txt: no title"
        );
    }

    #[test]
    fn cjk_quotes_and_spaces_stay_as_they_are() {
        for plain in [
            "首頁>黨派·聲音>統一戰線",
            "重庆市 “第一責任人” 'quoted' \"double\"",
            "全角：冒號、頓號，逗號",
        ] {
            assert_eq!(escaped(plain).to_string(), plain);
        }
        assert_eq!(
            escaped_path(Path::new("articles/新聞\n.txt")).to_string(),
            r"articles/新聞\n.txt"
        );
    }
}
