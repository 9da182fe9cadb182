"""Use case: answer the directory snapshot the token service keeps a copy of."""

from provisioning_service.application.ports import DirectoryReader
from provisioning_service.domain.directory import Directory


class ReadDirectory:
    """Returns every partner's status and granted locations at one version."""

    def __init__(self, reader: DirectoryReader) -> None:
        self._reader = reader

    async def __call__(self) -> Directory:
        return await self._reader.read()
