//! Hostile proxies and servers: oversized, endless, slow and malformed replies meet a cap and a
//! deadline, never a hang or a panic.

mod hostile_proxy;
