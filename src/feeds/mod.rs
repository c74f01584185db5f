//! The feed side (DESIGN §7): store → article → index → feed → publish.

pub mod article;
pub mod feed;
#[cfg(test)]
pub mod fixtures;
pub mod index;
pub mod publish;
pub mod search;
pub mod store;
pub mod topic;
