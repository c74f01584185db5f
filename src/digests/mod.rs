//! The digest side (DESIGN §7): subscriber → schedule → compose → mail, with the
//! subscription pages.

pub mod compose;
pub mod mail;
pub mod pages;
pub mod personal;
pub mod round;
pub mod schedule;
pub mod subscriber;
pub mod token;
