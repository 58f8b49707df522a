//! Hostile proxies and servers: oversized, endless, slow and malformed replies meet a cap and a
//! deadline, never a hang or a panic; hostile names, reasons and headers cannot forge a line,
//! perfdata item or metric in any output.

mod hostile_output;
mod hostile_proxy;
