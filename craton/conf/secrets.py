# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('secrets', title='Secrets: how values are kept at rest')

BACKENDS = [
    ('fernet', 'encrypted with [secrets] encryption_keys in the database'),
    ('castellan', "kept in castellan's key manager (Barbican)"),
]

opts = [
    cfg.StrOpt('backend', default='fernet', choices=BACKENDS,
               help='Where new secret values are kept. "fernet": encrypted '
                    'in Craton\'s database with [secrets] encryption_keys. '
                    '"castellan": in the key manager castellan reaches '
                    '(Barbican by default, see the [key_manager] and '
                    '[barbican] options of castellan), authenticated with '
                    'the service credentials of [key_manager] (auth_type '
                    'and the rest), so that conductors can read a value '
                    'without a user\'s token; the database then keeps only '
                    'the key manager\'s reference. Each secret remembers the '
                    'backend it was stored with, so a change of this option '
                    'applies to values created or replaced afterwards.'),
    cfg.ListOpt('encryption_keys', default=[], secret=True,
                help='Fernet keys (32 url-safe base64-encoded bytes each, '
                     'as `python3 -c "from cryptography.fernet import '
                     'Fernet; print(Fernet.generate_key().decode())"` '
                     'prints) that encrypt secret values kept in the '
                     'database (backend fernet). The first key encrypts; '
                     'every key decrypts. To rotate: put a new key first, '
                     'keep the old ones after it, restart the services, run '
                     '`craton-dbsync secrets-rotate`, then drop the old '
                     'keys. With none set, creating or replacing a secret '
                     'answers 503.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
