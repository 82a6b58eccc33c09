//! ZGossip server state machine (sans-I/O).
