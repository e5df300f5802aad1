# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""The exceptions of ``sandbox_core.exception``, re-exported: the same classes, caught the same way in both APIs."""

from sandbox_core.exception import AlreadyExistsError as AlreadyExistsError
from sandbox_core.exception import AsyncUsageWarning as AsyncUsageWarning
from sandbox_core.exception import AuthError as AuthError
from sandbox_core.exception import ClientClosed as ClientClosed
from sandbox_core.exception import ConflictError as ConflictError
from sandbox_core.exception import ConnectionError as ConnectionError
from sandbox_core.exception import DataLossError as DataLossError
from sandbox_core.exception import DeprecationError as DeprecationError
from sandbox_core.exception import Error as Error
from sandbox_core.exception import ExecTimeoutError as ExecTimeoutError
from sandbox_core.exception import ExecutionError as ExecutionError
from sandbox_core.exception import FilesystemExecutionError as FilesystemExecutionError
from sandbox_core.exception import ImageBuildError as ImageBuildError
from sandbox_core.exception import InternalError as InternalError
from sandbox_core.exception import InvalidError as InvalidError
from sandbox_core.exception import LocalBackendWarning as LocalBackendWarning
from sandbox_core.exception import LogsFetchError as LogsFetchError
from sandbox_core.exception import NotFoundError as NotFoundError
from sandbox_core.exception import PermissionDeniedError as PermissionDeniedError
from sandbox_core.exception import RemoteError as RemoteError
from sandbox_core.exception import ResourceExhaustedError as ResourceExhaustedError
from sandbox_core.exception import SandboxFilesystemDirectoryNotEmptyError as SandboxFilesystemDirectoryNotEmptyError
from sandbox_core.exception import SandboxFilesystemError as SandboxFilesystemError
from sandbox_core.exception import SandboxFilesystemFileTooLargeError as SandboxFilesystemFileTooLargeError
from sandbox_core.exception import SandboxFilesystemIsADirectoryError as SandboxFilesystemIsADirectoryError
from sandbox_core.exception import SandboxFilesystemNotADirectoryError as SandboxFilesystemNotADirectoryError
from sandbox_core.exception import SandboxFilesystemNotFoundError as SandboxFilesystemNotFoundError
from sandbox_core.exception import SandboxFilesystemPathAlreadyExistsError as SandboxFilesystemPathAlreadyExistsError
from sandbox_core.exception import SandboxFilesystemPermissionError as SandboxFilesystemPermissionError
from sandbox_core.exception import SandboxTerminatedError as SandboxTerminatedError
from sandbox_core.exception import SandboxTimeoutError as SandboxTimeoutError
from sandbox_core.exception import ServiceError as ServiceError
from sandbox_core.exception import SnapshotCreationError as SnapshotCreationError
from sandbox_core.exception import TimeoutError as TimeoutError
from sandbox_core.exception import UnimplementedError as UnimplementedError
from sandbox_core.exception import deprecation_error as deprecation_error
from sandbox_core.exception import deprecation_warning as deprecation_warning

__all__ = [
    "AlreadyExistsError",
    "AsyncUsageWarning",
    "AuthError",
    "ClientClosed",
    "ConflictError",
    "ConnectionError",
    "DataLossError",
    "DeprecationError",
    "Error",
    "ExecTimeoutError",
    "ExecutionError",
    "FilesystemExecutionError",
    "ImageBuildError",
    "InternalError",
    "InvalidError",
    "LocalBackendWarning",
    "LogsFetchError",
    "NotFoundError",
    "PermissionDeniedError",
    "RemoteError",
    "ResourceExhaustedError",
    "SandboxFilesystemDirectoryNotEmptyError",
    "SandboxFilesystemError",
    "SandboxFilesystemFileTooLargeError",
    "SandboxFilesystemIsADirectoryError",
    "SandboxFilesystemNotADirectoryError",
    "SandboxFilesystemNotFoundError",
    "SandboxFilesystemPathAlreadyExistsError",
    "SandboxFilesystemPermissionError",
    "SandboxTerminatedError",
    "SandboxTimeoutError",
    "ServiceError",
    "SnapshotCreationError",
    "TimeoutError",
    "UnimplementedError",
    "deprecation_error",
    "deprecation_warning",
]
