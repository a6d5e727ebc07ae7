"""EVM verifiers: Solidity generated from a verifying key, compiled offline, deployed and called
on the embedded chain (eth-tester + py-evm) or any JSON-RPC node."""
