# SPDX-License-Identifier: Apache-2.0
import warnings

# oslo.messaging still imports oslo.service's eventlet backend, which warns
# that eventlet is deprecated on every command. Craton never uses eventlet
# (threads only), so the warning tells an operator nothing.
warnings.filterwarnings('ignore', message='(?s).*Eventlet is deprecated')
warnings.filterwarnings('ignore', message='.*eventletutils module is '
                        'deprecated')
warnings.filterwarnings('ignore', message=".*'oslo_service.eventlet_"
                        "backdoor' module")
