// SPDX-License-Identifier: Apache-2.0
// zkml's attestation registry: models are registered by their owners together with the address
// of their Groth16 verifier; an attestation is recorded only if its proof verifies through that
// verifier inside the same call. The recorded claim hash is keccak256 of the public inputs, so a
// proof binds exactly one claim, and a proof replayed under another model id meets another
// verifier and fails.
pragma solidity ^0.8.20;

contract AttestationRegistry {
    struct Model {
        address owner;
        address verifier;
        bytes32 vkHash;
        uint32 nPublic;
        bool revoked;
        string metadataURI;
    }

    struct Attestation {
        bytes32 modelId;
        bytes32 claimHash;
        address submitter;
        uint64 blockNumber;
        uint64 timestamp;
        bool revoked;
    }

    mapping(bytes32 => Model) public models;
    Attestation[] public attestations;

    event ModelRegistered(bytes32 indexed modelId, address indexed owner, address verifier, bytes32 vkHash, string metadataURI);
    event ModelRevoked(bytes32 indexed modelId);
    event AttestationRecorded(uint256 indexed id, bytes32 indexed modelId, bytes32 claimHash, address indexed submitter);
    event AttestationRevoked(uint256 indexed id);

    error NotOwner();
    error AlreadyRegistered();
    error UnknownModel();
    error ModelIsRevoked();
    error WrongPublicInputCount(uint256 expected, uint256 got);
    error ProofRejected();
    error NoVerifierCode();

    function registerModel(bytes32 modelId, address verifier, bytes32 vkHash, uint32 nPublic, string calldata metadataURI) external {
        if (models[modelId].owner != address(0)) revert AlreadyRegistered();
        if (verifier.code.length == 0) revert NoVerifierCode();
        models[modelId] = Model(msg.sender, verifier, vkHash, nPublic, false, metadataURI);
        emit ModelRegistered(modelId, msg.sender, verifier, vkHash, metadataURI);
    }

    function revokeModel(bytes32 modelId) external {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel();
        if (m.owner != msg.sender) revert NotOwner();
        m.revoked = true;
        emit ModelRevoked(modelId);
    }

    function submitAttestation(
        bytes32 modelId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[] calldata publicInputs
    ) external returns (uint256 id) {
        Model storage m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel();
        if (m.revoked) revert ModelIsRevoked();
        if (publicInputs.length != m.nPublic) revert WrongPublicInputCount(m.nPublic, publicInputs.length);
        bytes memory call = abi.encodePacked(_selector(m.nPublic), a, b[0], b[1], c, publicInputs);
        (bool ok, bytes memory ret) = m.verifier.staticcall(call);
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert ProofRejected();
        bytes32 claimHash = keccak256(abi.encodePacked(publicInputs));
        attestations.push(Attestation(modelId, claimHash, msg.sender, uint64(block.number), uint64(block.timestamp), false));
        id = attestations.length - 1;
        emit AttestationRecorded(id, modelId, claimHash, msg.sender);
    }

    function revokeAttestation(uint256 id) external {
        Attestation storage att = attestations[id];
        if (models[att.modelId].owner != msg.sender) revert NotOwner();
        att.revoked = true;
        emit AttestationRevoked(id);
    }

    function attestationCount() external view returns (uint256) {
        return attestations.length;
    }

    /// verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n]): the selector depends on n.
    function _selector(uint256 n) internal pure returns (bytes4) {
        return bytes4(keccak256(abi.encodePacked("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", _decimal(n), "])")));
    }

    function _decimal(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        out = new bytes(len);
        for (; v != 0; v /= 10) out[--len] = bytes1(uint8(48 + v % 10));
    }
}
