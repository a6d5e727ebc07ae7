// SPDX-License-Identifier: Apache-2.0
// zkml's attestation registry: models are registered by their owners, who add the Groth16
// verifiers of the circuits that prove claims about them; an attestation is recorded only if its
// proof verifies through one of those verifiers inside the same call. The recorded claim hash is
// keccak256 of the public inputs, so a proof binds exactly one claim, and a proof replayed under
// another model id meets another verifier and fails. A lookup (two-round) verifier takes the
// round-1 commitment D after c: its proofs come through submitLookupAttestation. Each form calls
// only its own verifyProof signature, which the other kind of verifier does not have, so a plain
// proof never reaches a lookup verifier (nor the reverse): the call reverts and nothing is recorded.
// Each record carries the date its claim is valid until (0: no expiry), as the signed document
// states it; isValid says whether a record is live now (not revoked, model not revoked, not expired).
pragma solidity ^0.8.20;

contract AttestationRegistry {
    /// One Groth16 verifier of a model: a model has one per circuit that proves claims about it
    /// (inference, an evaluation over N samples, ...). vkURI says where its verifying key is
    /// published, so anyone can regenerate the verifier and compare its code.
    struct Verifier {
        address verifier;
        bytes32 vkHash;
        uint32 nPublic;
        string kind;
        string vkURI;
    }

    struct Model {
        address owner;
        bool revoked;
        string metadataURI;
        Verifier[] verifiers;
    }

    struct Attestation {
        bytes32 modelId;
        uint32 verifierIndex;
        bytes32 claimHash;
        address submitter;
        uint64 blockNumber;
        uint64 timestamp;
        uint64 validUntil;
        bool revoked;
    }

    mapping(bytes32 => Model) internal _models;
    Attestation[] public attestations;

    event ModelRegistered(bytes32 indexed modelId, address indexed owner, string metadataURI);
    event VerifierAdded(bytes32 indexed modelId, uint256 index, address verifier, bytes32 vkHash, string kind, string vkURI);
    event ModelRevoked(bytes32 indexed modelId);
    event AttestationRecorded(uint256 indexed id, bytes32 indexed modelId, bytes32 claimHash, address indexed submitter, uint64 validUntil);
    event AttestationRevoked(uint256 indexed id);

    error NotOwner();
    error AlreadyRegistered();
    error UnknownModel();
    error UnknownVerifier();
    error UnknownAttestation();
    error ModelIsRevoked();
    error WrongPublicInputCount(uint256 expected, uint256 got);
    error ProofRejected();
    error NoVerifierCode();
    error AlreadyExpired(uint64 validUntil);

    modifier onlyOwner(bytes32 modelId) {
        address owner = _models[modelId].owner;
        if (owner == address(0)) revert UnknownModel();
        if (owner != msg.sender) revert NotOwner();
        _;
    }

    /// The caller becomes the model's owner.
    function registerModel(bytes32 modelId, string calldata metadataURI) external {
        Model storage m = _models[modelId];
        if (m.owner != address(0)) revert AlreadyRegistered();
        m.owner = msg.sender;
        m.metadataURI = metadataURI;
        emit ModelRegistered(modelId, msg.sender, metadataURI);
    }

    function addVerifier(
        bytes32 modelId,
        address verifier,
        bytes32 vkHash,
        uint32 nPublic,
        string calldata kind,
        string calldata vkURI
    ) external onlyOwner(modelId) returns (uint256 index) {
        if (verifier.code.length == 0) revert NoVerifierCode();
        Model storage m = _models[modelId];
        if (m.revoked) revert ModelIsRevoked();
        m.verifiers.push(Verifier(verifier, vkHash, nPublic, kind, vkURI));
        index = m.verifiers.length - 1;
        emit VerifierAdded(modelId, index, verifier, vkHash, kind, vkURI);
    }

    function revokeModel(bytes32 modelId) external onlyOwner(modelId) {
        _models[modelId].revoked = true;
        emit ModelRevoked(modelId);
    }

    function models(bytes32 modelId) external view returns (address owner, bool revoked, string memory metadataURI, uint256 verifierCount) {
        Model storage m = _models[modelId];
        return (m.owner, m.revoked, m.metadataURI, m.verifiers.length);
    }

    function verifierOf(bytes32 modelId, uint256 index) external view returns (Verifier memory) {
        Model storage m = _models[modelId];
        if (index >= m.verifiers.length) revert UnknownVerifier();
        return m.verifiers[index];
    }

    /// Records the claim only if the proof verifies through the model's verifier in this call;
    /// validUntil (unix seconds, 0 for none) must lie in the future.
    function submitAttestation(
        bytes32 modelId,
        uint32 verifierIndex,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[] calldata publicInputs,
        uint64 validUntil
    ) external returns (uint256 id) {
        Verifier storage v = _verifierFor(modelId, verifierIndex, publicInputs.length, validUntil);
        _call(v.verifier, abi.encodePacked(_selector(v.nPublic, false), a, b[0], b[1], c, publicInputs));
        return _record(modelId, verifierIndex, keccak256(abi.encodePacked(publicInputs)), validUntil);
    }

    /// submitAttestation for a lookup verifier: d is the proof's round-1 commitment D.
    function submitLookupAttestation(
        bytes32 modelId,
        uint32 verifierIndex,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[2] calldata d,
        uint256[] calldata publicInputs,
        uint64 validUntil
    ) external returns (uint256 id) {
        Verifier storage v = _verifierFor(modelId, verifierIndex, publicInputs.length, validUntil);
        _call(v.verifier, abi.encodePacked(_selector(v.nPublic, true), a, b[0], b[1], c, d, publicInputs));
        return _record(modelId, verifierIndex, keccak256(abi.encodePacked(publicInputs)), validUntil);
    }

    function _verifierFor(bytes32 modelId, uint32 verifierIndex, uint256 nInputs, uint64 validUntil)
        internal view returns (Verifier storage v)
    {
        Model storage m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel();
        if (m.revoked) revert ModelIsRevoked();
        if (verifierIndex >= m.verifiers.length) revert UnknownVerifier();
        if (validUntil != 0 && validUntil <= block.timestamp) revert AlreadyExpired(validUntil);
        v = m.verifiers[verifierIndex];
        if (nInputs != v.nPublic) revert WrongPublicInputCount(v.nPublic, nInputs);
    }

    /// Live now: recorded, not revoked, its model not revoked, not past validUntil.
    function isValid(uint256 id) external view returns (bool) {
        if (id >= attestations.length) return false;
        Attestation storage att = attestations[id];
        if (att.revoked || _models[att.modelId].revoked) return false;
        return att.validUntil == 0 || block.timestamp < att.validUntil;
    }

    function _call(address verifier, bytes memory call) internal view {
        (bool ok, bytes memory ret) = verifier.staticcall(call);
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert ProofRejected();
    }

    function _record(bytes32 modelId, uint32 verifierIndex, bytes32 claimHash, uint64 validUntil) internal returns (uint256 id) {
        attestations.push(Attestation(modelId, verifierIndex, claimHash, msg.sender, uint64(block.number),
                                      uint64(block.timestamp), validUntil, false));
        id = attestations.length - 1;
        emit AttestationRecorded(id, modelId, claimHash, msg.sender, validUntil);
    }

    function revokeAttestation(uint256 id) external {
        if (id >= attestations.length) revert UnknownAttestation();
        Attestation storage att = attestations[id];
        if (_models[att.modelId].owner != msg.sender) revert NotOwner();
        att.revoked = true;
        emit AttestationRevoked(id);
    }

    function attestationCount() external view returns (uint256) {
        return attestations.length;
    }

    /// verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n]), with one more uint256[2] (D)
    /// before the inputs for a lookup verifier: the selector depends on n.
    function _selector(uint256 n, bool lookup) internal pure returns (bytes4) {
        string memory head = lookup ? "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[2],uint256["
                                    : "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[";
        return bytes4(keccak256(abi.encodePacked(head, _decimal(n), "])")));
    }

    function _decimal(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        out = new bytes(len);
        for (; v != 0; v /= 10) out[--len] = bytes1(uint8(48 + v % 10));
    }
}
