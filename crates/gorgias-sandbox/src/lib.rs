//! Gorgias sandbox (placeholder; being built).
