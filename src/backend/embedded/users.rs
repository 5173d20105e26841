//! Users of the embedded store (hashed passwords). Implemented by the embedded-store work.
