//! Integration definitions as data (placeholder; being built).
