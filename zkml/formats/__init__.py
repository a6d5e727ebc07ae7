"""Files of the circom/snarkjs ecosystem: ``.r1cs``, ``.wtns``, ``.ptau``, ``.zkey`` and the
JSON files (verification key, proof, public signals), read and written in their exact layouts
so snarkjs can check us and we can prove snarkjs circuits. Malformed files raise
``FormatError`` naming the file and the field; every write is atomic (temp file + rename)."""
