//! quilt-sync
