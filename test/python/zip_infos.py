"""Prints what Python's zipfile sees in archives, as JSON: comment, testzip, every member's header fields.

usage: zip_infos.py ARCHIVE...
"""
import json
import sys
import zipfile

FIELDS = ['filename', 'date_time', 'compress_type', 'comment', 'extra', 'create_system', 'create_version',
          'extract_version', 'flag_bits', 'volume', 'internal_attr', 'external_attr', 'CRC', 'file_size',
          'compress_size', 'header_offset']
out = []
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as zf:
        members = [{f: (getattr(i, f).hex() if isinstance(getattr(i, f), bytes) else getattr(i, f)) for f in FIELDS}
                   for i in zf.infolist()]
        out.append({'comment': zf.comment.hex(), 'testzip': zf.testzip(), 'members': members,
                    'config': zf.read('config.json').decode('utf-8')})
print(json.dumps(out))
