"""What can go wrong when managing authorities."""

from servicekonto.errors import ServicekontoError


class UnknownParentAuthorityError(ServicekontoError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no authority with the slug {slug!r} to be the parent")
        self.slug = slug
