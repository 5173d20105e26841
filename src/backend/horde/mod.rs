//! Horde over its JSON-RPC API (rpc.php). Implemented by the Horde backend work.
