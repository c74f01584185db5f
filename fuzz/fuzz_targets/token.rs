//! The link-token verifier (token.rs, DESIGN §5): whatever a visitor puts in a link, no
//! panic; every token `sign` makes is accepted for its purpose until (and at) its expiry
//! and refused after it and for any other purpose; and no other text is accepted for it —
//! any edit that leaves more than surrounding whitespace changed is refused, so a signed
//! token has exactly one spelling.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{sign, verify, Purpose};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Which {
    Confirm,
    Manage,
    Unsubscribe,
}

impl Which {
    fn purpose(self) -> Purpose {
        match self {
            Which::Confirm => Purpose::Confirm,
            Which::Manage => Purpose::Manage,
            Which::Unsubscribe => Purpose::Unsubscribe,
        }
    }
}

/// One edit of a signed token.
#[derive(Arbitrary, Debug)]
enum Edit {
    Xor(u16, u8),
    Insert(u16, char),
    Remove(u16),
    Truncate(u16),
    Pad(u8),
    Swap(u16, u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: Vec<u8>,
    which: Which,
    now: i64,
    email: String,
    expires: i64,
    edits: Vec<Edit>,
    /// Whatever a visitor types.
    token: String,
}

fn edit(token: &str, edits: &[Edit]) -> Option<String> {
    let mut bytes = token.as_bytes().to_vec();
    for e in edits {
        let at = |i: u16, len: usize| usize::from(i) % len.max(1);
        match *e {
            Edit::Xor(i, x) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] ^= x.max(1);
            }
            Edit::Insert(i, c) => {
                let i = at(i, bytes.len() + 1);
                bytes.splice(i..i, c.to_string().into_bytes());
            }
            Edit::Remove(i) if !bytes.is_empty() => {
                bytes.remove(at(i, bytes.len()));
            }
            Edit::Truncate(n) => bytes.truncate(at(n, bytes.len())),
            Edit::Pad(n) => bytes.extend(std::iter::repeat_n(b'=', usize::from(n % 4) + 1)),
            Edit::Swap(i, j) if !bytes.is_empty() => {
                let (i, j) = (at(i, bytes.len()), at(j, bytes.len()));
                bytes.swap(i, j);
            }
            _ => {}
        }
    }
    String::from_utf8(bytes).ok()
}

fuzz_target!(|input: Input| {
    let (key, purpose) = (&input.key[..], input.which.purpose());

    // Anything at all: an answer, never a panic.
    let _ = verify(key, purpose, &input.token, input.now);

    let token = sign(key, purpose, &input.email, input.expires);
    let at = input.expires.min(input.now);
    assert_eq!(
        verify(key, purpose, &token, at).as_deref(),
        Ok(input.email.as_str())
    );
    if let Some(after) = input.expires.checked_add(1) {
        assert!(verify(key, purpose, &token, after).is_err());
    }
    for other in [Which::Confirm, Which::Manage, Which::Unsubscribe] {
        if other != input.which {
            assert!(verify(key, other.purpose(), &token, at).is_err());
        }
    }
    if let Some(edited) = edit(&token, &input.edits) {
        if edited.trim() != token {
            assert!(
                verify(key, purpose, &edited, at).is_err(),
                "{token:?} edited to {edited:?} still verifies"
            );
        }
    }
});
