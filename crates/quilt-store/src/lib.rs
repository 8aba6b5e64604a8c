//! quilt-store
