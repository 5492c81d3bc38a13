# SPDX-License-Identifier: Apache-2.0
"""Craton's exceptions.

Each exception carries the HTTP status the API answers with and a stable
error ``code`` (api-ref.rst: ``craton.<thing>.<reason>``). The message is
written for the person who reads it: it names the thing and, where there is
one, the fix.
"""


class CratonException(Exception):
    """Base class: ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown error occurred.'
    code = 500
    error_code = 'craton.error'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = str(message)
        super().__init__(self.message)

    def __str__(self):
        return self.message


class Invalid(CratonException):
    msg_fmt = 'Invalid input: %(reason)s'
    code = 400
    error_code = 'craton.invalid'


class InvalidParameter(Invalid):
    msg_fmt = "Invalid value for '%(name)s': %(reason)s"
    error_code = 'craton.invalid_parameter'


class InvalidSource(Invalid):
    msg_fmt = 'Invalid task source: %(reason)s'
    error_code = 'craton.task.invalid_source'


class PatchTestFailed(Invalid):
    """A JSON Patch ``test`` operation found another value (RFC 6902 4.6)."""

    msg_fmt = "JSON Patch test failed at '%(path)s': %(reason)s"
    error_code = 'craton.patch_test_failed'


class InvalidInventory(Invalid):
    msg_fmt = 'Invalid inventory: %(reason)s'
    error_code = 'craton.job.invalid_inventory'


class NotAuthorized(CratonException):
    msg_fmt = 'Not authorized.'
    code = 401
    error_code = 'craton.not_authorized'


class Forbidden(CratonException):
    msg_fmt = 'Policy does not allow %(action)s to be performed.'
    code = 403
    error_code = 'craton.forbidden'


class ProjectScopeRequired(Forbidden):
    """The token is not scoped to a project (unscoped, or system- or
    domain-scoped): every resource belongs to a project.
    """

    msg_fmt = ('This request needs a token scoped to a project; ask Keystone '
               'for one (for example with --os-project-name).')


class NotFound(CratonException):
    msg_fmt = 'Resource could not be found.'
    code = 404
    error_code = 'craton.not_found'


class RegionNotFound(NotFound):
    msg_fmt = "Region '%(region)s' could not be found."
    error_code = 'craton.region.not_found'


class CellNotFound(NotFound):
    msg_fmt = "Cell '%(cell)s' could not be found."
    error_code = 'craton.cell.not_found'


class HostNotFound(NotFound):
    msg_fmt = "Host '%(host)s' could not be found."
    error_code = 'craton.host.not_found'


class TaskNotFound(NotFound):
    msg_fmt = "Task '%(task)s' could not be found."
    error_code = 'craton.task.not_found'


class WorkflowNotFound(NotFound):
    msg_fmt = "Workflow '%(workflow)s' could not be found."
    error_code = 'craton.workflow.not_found'


class JobNotFound(NotFound):
    msg_fmt = "Job '%(job)s' could not be found."
    error_code = 'craton.job.not_found'


class StepNotFound(NotFound):
    msg_fmt = "Job '%(job)s' has no step %(index)s."
    error_code = 'craton.job.step_not_found'


class EventNotFound(NotFound):
    msg_fmt = "Event '%(event)s' could not be found."
    error_code = 'craton.event.not_found'


class SecretNotFound(NotFound):
    msg_fmt = "Secret '%(secret)s' could not be found."
    error_code = 'craton.secret.not_found'


class ConductorNotFound(NotFound):
    msg_fmt = "Conductor '%(host)s' could not be found."
    error_code = 'craton.conductor.not_found'


class Conflict(CratonException):
    msg_fmt = 'Conflict: %(reason)s'
    code = 409
    error_code = 'craton.conflict'


class Duplicate(Conflict):
    msg_fmt = "A %(kind)s named '%(name)s' already exists in this project."
    error_code = 'craton.duplicate'


class InUse(Conflict):
    msg_fmt = '%(reason)s'
    error_code = 'craton.in_use'


class InvalidState(Conflict):
    msg_fmt = '%(reason)s'
    error_code = 'craton.invalid_state'


class TaskNotReady(Conflict):
    msg_fmt = ("task '%(task)s' is not ready (status %(status)s); wait for "
               "its build to finish or fix its source and rebuild it.")
    error_code = 'craton.task.not_ready'


class TaskNotApproved(Conflict):
    msg_fmt = ("task '%(task)s' is not approved (approval %(approval)s); an "
               "admin must run `openstack craton task approve %(task)s`.")
    error_code = 'craton.task.not_approved'


class RequestTooLarge(CratonException):
    msg_fmt = 'Request too large: %(reason)s'
    code = 413
    error_code = 'craton.too_large'


class UnsupportedMediaType(CratonException):
    msg_fmt = 'Unsupported media type: %(reason)s'
    code = 415
    error_code = 'craton.unsupported_media_type'


class ServiceUnavailable(CratonException):
    msg_fmt = 'Service unavailable: %(reason)s'
    code = 503
    error_code = 'craton.unavailable'


class SecretStoreUnavailable(ServiceUnavailable):
    """Secret values cannot be encrypted, decrypted or reached: no key is
    configured, a key is malformed, or the key manager failed. The message
    names the option or the cause, never a value or a key.
    """

    msg_fmt = 'Secrets unavailable: %(reason)s'
    error_code = 'craton.secret.store_unavailable'


class DatabaseBusy(ServiceUnavailable):
    """The database stayed busy with other writers through every retry.

    ``retry_after`` (seconds) becomes the API's ``Retry-After`` header.
    """

    msg_fmt = ('Service unavailable: the database is busy with other '
               'writes; try again in %(retry_after)s s.')
    error_code = 'craton.database.busy'

    def __init__(self, message=None, retry_after=1, **kwargs):
        self.retry_after = retry_after
        super().__init__(message, retry_after=retry_after, **kwargs)


class ClaimFailed(CratonException):
    """Another conductor owns the row; not an error to report to a user."""

    msg_fmt = '%(kind)s %(uuid)s is claimed by another conductor.'
    code = 409
    error_code = 'craton.claimed'


class BuildError(CratonException):
    """An image build failed; ``message`` is the reason shown on the task."""

    msg_fmt = '%(reason)s'
    error_code = 'craton.task.build_failed'


class ImageNotDistributed(CratonException):
    """An execution driver could not make a built image runnable (no Swarm
    node holds it); ``message`` is the reason shown on the task.
    """

    msg_fmt = '%(reason)s'
    error_code = 'craton.task.image_not_distributed'


class EngineUnavailable(CratonException):
    """The Docker engine did not answer."""

    msg_fmt = 'Docker engine %(url)s is unreachable: %(reason)s'
    code = 503
    error_code = 'craton.engine.unavailable'


class ImageNotFound(CratonException):
    msg_fmt = "Image %(image)s is not on the engine."
    error_code = 'craton.engine.image_not_found'


class RegistryError(CratonException):
    """A push to, or a call of, the ``[docker] registry`` failed."""

    msg_fmt = 'registry %(registry)s: %(reason)s'
    code = 503
    error_code = 'craton.registry.failed'
