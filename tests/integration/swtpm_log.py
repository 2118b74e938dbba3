"""tests/integration/swtpm_log.py — what crossed the TPM bus, read from a
swtpm log written with SWTPM_LOG_LEVEL=20, for the checks of
test_tpm_seal.sh, test_tpm_hkey.sh and test_tpm_esys_crypto.sh (run their
python with PYTHONPATH="$LJ_TOP/tests/integration")."""


def blocks(path):
    """[(kind, data)] in log order: kind "SWTPM_IO_Read" is a command as
    the TPM read it, "SWTPM_IO_Write" the response it wrote; data is bytes."""
    out, cur = [], None
    with open(path) as f:
        for line in f:
            if line.startswith(" SWTPM_IO_"):
                cur = [line.split(":")[0].strip(), bytearray()]
                out.append(cur)
            elif cur is not None and line.strip() and all(len(t) == 2 for t in line.split()):
                cur[1] += bytes(int(t, 16) for t in line.split())
    return [(kind, bytes(data)) for kind, data in out]
