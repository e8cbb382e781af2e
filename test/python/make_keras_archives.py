"""Builds .keras test archives with Python's zipfile (the library Keras itself saves with).

usage: make_keras_archives.py OUT_DIR CONFIG_JSON [MORE_CONFIG_JSON...]
Each archive exercises one thing a byte-faithful rewrite must keep or a reader must refuse; every
config also gets a Keras-like archive (keras-like-<i>.keras).
"""
import io
import sys
import warnings
import zipfile

warnings.simplefilter('ignore')  # the duplicate names are meant

out, configs = sys.argv[1], [open(p, 'rb').read() for p in sys.argv[2:]]
config = configs[0]
metadata = b'{"keras_version": "3.6.0", "date_saved": "2024-11-02@10:00:00"}'
weights = b'\x89HDF\r\n\x1a\n' + bytes(range(256)) * 8


def info(name, mode=0o100644, system=3, date=(2024, 11, 2, 10, 0, 0), compress=zipfile.ZIP_STORED):
    zi = zipfile.ZipInfo(name, date_time=date)
    zi.external_attr = mode << 16
    zi.create_system = system
    zi.compress_type = compress
    return zi


def keras_like(path, config):
    """As keras.saving.save_model writes it: stored members, metadata first."""
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('metadata.json', metadata)
        zf.writestr('config.json', config)
        zf.writestr('model.weights.h5', weights)


for i, c in enumerate(configs):
    keras_like(f'{out}/keras-like-{i}.keras', c)

# Modes, executable bit, old timestamps, MS-DOS create_system, integer names, a folder entry, a comment.
with zipfile.ZipFile(f'{out}/modes.keras', 'w') as zf:
    zf.comment = b'archive comment kept verbatim'
    zf.writestr(info('metadata.json', date=(1999, 12, 31, 23, 59, 58)), metadata)
    zf.writestr(info('12', system=0), b'twelve')
    zf.writestr(info('config.json', mode=0o100600, date=(2001, 2, 3, 4, 5, 6)), config)
    zf.writestr(info('7', mode=0o100755), b'seven')
    zf.writestr(info('assets/', mode=0o40755), b'')
    zf.writestr(info('run.sh', mode=0o100755, compress=zipfile.ZIP_DEFLATED), b'#!/bin/sh\necho hi\n' * 50)
    zf.writestr(info('model.weights.h5', compress=zipfile.ZIP_DEFLATED), weights)

# Duplicate members (not config.json): both copies are kept.
with zipfile.ZipFile(f'{out}/duplicates.keras', 'w') as zf:
    zf.writestr('assets/vocab.txt', b'first copy')
    zf.writestr('config.json', config)
    zf.writestr('assets/vocab.txt', b'second copy, longer')

# Two config.json members: which one a tool reads differs, so the reader refuses.
with zipfile.ZipFile(f'{out}/two-configs.keras', 'w') as zf:
    zf.writestr('config.json', config)
    zf.writestr('config.json', config)

# Another member compressed with LZMA (copied raw), and config.json itself in LZMA (refused).
with zipfile.ZipFile(f'{out}/lzma-weights.keras', 'w') as zf:
    zf.writestr('config.json', config)
    zf.writestr(info('model.weights.h5', compress=zipfile.ZIP_LZMA), weights)
with zipfile.ZipFile(f'{out}/lzma-config.keras', 'w') as zf:
    zf.writestr(info('config.json', compress=zipfile.ZIP_LZMA), config)

# config.json deflated (content round-trips; its compressed bytes are fflate's, not zlib's).
with zipfile.ZipFile(f'{out}/deflated.keras', 'w', compression=zipfile.ZIP_DEFLATED) as zf:
    zf.writestr('metadata.json', metadata)
    zf.writestr('config.json', config)
    zf.writestr('model.weights.h5', weights)

# zip64 extra fields on config.json and data descriptors (written to an unseekable stream).
with zipfile.ZipFile(f'{out}/zip64.keras', 'w') as zf:
    zf.writestr('metadata.json', metadata)
    with zf.open('config.json', 'w', force_zip64=True) as f:
        f.write(config)
    zf.writestr('model.weights.h5', weights)


class Unseekable(io.RawIOBase):
    def __init__(self):
        self.buf = io.BytesIO()

    def writable(self):
        return True

    def write(self, b):
        return self.buf.write(b)


sink = Unseekable()
with zipfile.ZipFile(sink, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
    zf.writestr('metadata.json', metadata)
    with zf.open('config.json', 'w') as f:
        f.write(config)
    zf.writestr('model.weights.h5', weights)
open(f'{out}/descriptors.keras', 'wb').write(sink.buf.getvalue())

# A self-extracting style prefix: the offsets are not adjusted, zipfile still reads it.
stub = b'#!/bin/sh\necho "self-extracting stub"\nexit 0\n' + bytes(range(256))
open(f'{out}/prefixed.keras', 'wb').write(stub + open(f'{out}/keras-like-0.keras', 'rb').read())
assert zipfile.ZipFile(f'{out}/prefixed.keras').read('config.json') == config

# A zip bomb: config.json inflating to 300 MiB of spaces from a few hundred KB.
with zipfile.ZipFile(f'{out}/bomb.keras', 'w', compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
    with zf.open('config.json', 'w', force_zip64=True) as f:
        chunk = b' ' * (1 << 20)
        for _ in range(300):
            f.write(chunk)
