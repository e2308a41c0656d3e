"""Request errors carry the gRPC status a person should see; the servicer maps them."""

import grpc


class RequestError(Exception):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(RequestError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class ResourceExhausted(RequestError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class IdleTimeout(RequestError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
