//! sync (in progress)
