//! The limits of one article (docs/articles.md, "Limits of one article"): what bounds the
//! cost of any single file, so that no article can make a build slow, huge or impossible
//! (DESIGN §1, "Bad input"). The file's size is bounded by `store.max_bytes`; within it,
//! an article past any of these is rejected with one line naming the file and the limit.

/// Sections below the home crumb: a news site's tree is a few levels deep
/// (`時政 > 高層動態`); each level is a feed and a folder.
pub const MAX_SECTION_DEPTH: usize = 8;
/// Characters in one section name (a crumb, after the heading repeat is dropped).
pub const MAX_SECTION_CHARS: usize = 200;
/// Distinct keywords of one article; each is a feed.
pub const MAX_KEYWORDS: usize = 64;
/// Characters in one keyword.
pub const MAX_KEYWORD_CHARS: usize = 200;

/// Which limit a list of sections and keywords is past, if any (the first found).
pub fn beyond_limits<'a>(
    sections: impl ExactSizeIterator<Item = &'a str>,
    keywords: impl ExactSizeIterator<Item = &'a str>,
) -> Option<Beyond> {
    if sections.len() > MAX_SECTION_DEPTH {
        return Some(Beyond::SectionDepth(sections.len()));
    }
    if keywords.len() > MAX_KEYWORDS {
        return Some(Beyond::Keywords(keywords.len()));
    }
    for s in sections {
        let chars = s.chars().count();
        if chars > MAX_SECTION_CHARS {
            return Some(Beyond::SectionChars(chars));
        }
    }
    for k in keywords {
        let chars = k.chars().count();
        if chars > MAX_KEYWORD_CHARS {
            return Some(Beyond::KeywordChars(chars));
        }
    }
    None
}

/// A limit passed, with what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Beyond {
    #[error("{0} sections deep; the limit is {MAX_SECTION_DEPTH}")]
    SectionDepth(usize),
    #[error("a section name of {0} characters; the limit is {MAX_SECTION_CHARS}")]
    SectionChars(usize),
    #[error("{0} keywords; the limit is {MAX_KEYWORDS}")]
    Keywords(usize),
    #[error("a keyword of {0} characters; the limit is {MAX_KEYWORD_CHARS}")]
    KeywordChars(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sections: &[&str], keywords: &[&str]) -> Option<Beyond> {
        beyond_limits(sections.iter().copied(), keywords.iter().copied())
    }

    #[test]
    fn each_limit_is_inclusive() {
        let at_depth = vec!["s"; MAX_SECTION_DEPTH];
        let name = "長".repeat(MAX_SECTION_CHARS);
        let keyword = "詞".repeat(MAX_KEYWORD_CHARS);
        let many: Vec<String> = (0..MAX_KEYWORDS).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(check(&at_depth, &many), None);
        assert_eq!(check(&[&name], &[&keyword]), None);

        let deeper = vec!["s"; MAX_SECTION_DEPTH + 1];
        assert_eq!(check(&deeper, &[]), Some(Beyond::SectionDepth(9)));
        let longer = format!("{name}長");
        assert_eq!(check(&[&longer], &[]), Some(Beyond::SectionChars(201)));
        let mut more = many.clone();
        more.push("x");
        assert_eq!(check(&["s"], &more), Some(Beyond::Keywords(65)));
        let longer = format!("{keyword}詞");
        assert_eq!(check(&["s"], &[&longer]), Some(Beyond::KeywordChars(201)));
    }
}
