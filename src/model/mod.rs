//! Shared data types owned by no I/O module (DESIGN §7), so that imports run one way:
//! the feed side, the digest side and the daemon all depend on these, never on each other
//! for them.

pub mod article;
pub mod control;
pub mod escape;
pub mod limits;
pub mod subscriber;
pub mod topic;
