# SPDX-License-Identifier: Apache-2.0
"""[DEFAULT]: oslo.messaging's options are readable before a transport."""

from oslo_config import cfg
import oslo_messaging
from oslotest import base

from craton.conf import default


class TestMessagingOptions(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        default.register_opts(self.conf)

    def test_readable_before_a_transport(self):
        self.conf([], default_config_files=[])
        self.assertEqual('rabbit://', self.conf.transport_url)
        self.assertEqual('craton', self.conf.control_exchange)
        self.assertEqual('oslo', self.conf.rpc_transport)

    def test_read_from_the_config_file(self):
        path = self.create_tempfiles([(
            'craton', '[DEFAULT]\ntransport_url = rabbit://u:p@mq:5672/\n')],
            ext='.conf')[0]
        self.conf(['--config-file', path], default_config_files=[])
        self.assertEqual('rabbit://u:p@mq:5672/', self.conf.transport_url)

    def test_oslo_messaging_registers_them_again(self):
        # A transport, an RPC client and server register the same options
        # once more: oslo.config must take that as the same options.
        self.conf([], default_config_files=[])
        transport = oslo_messaging.get_rpc_transport(self.conf,
                                                     url='fake:/')
        self.addCleanup(transport.cleanup)
        target = oslo_messaging.Target(topic='t', server='s')
        oslo_messaging.get_rpc_client(transport, target)
        oslo_messaging.get_rpc_server(transport, target, [])
        self.assertEqual('craton', self.conf.control_exchange)
