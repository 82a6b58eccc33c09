//! zre.conf: the INI configuration file shared by the tools.
