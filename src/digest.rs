//! Digests (being written).
