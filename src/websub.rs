//! WebSub (being written).
