//! ZGossip client state machine (sans-I/O).
