//! quilt facade
