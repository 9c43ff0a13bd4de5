"""Errors a service raises for a person to read: clear, never a traceback."""


class UserFacingError(Exception):
    """Something the user can fix or should know; its message is shown as is."""


class NotFound(UserFacingError):
    pass


class Forbidden(UserFacingError):
    pass


class Conflict(UserFacingError):
    pass
