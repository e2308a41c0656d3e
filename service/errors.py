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


class Malformed:
    """A request that did not parse (bad wire format, invalid UTF-8 in a string field).
    The deserializer hands this to the servicer instead of raising inside grpc."""

    def __init__(self, type_name: str, error: str):
        self.message = (f"the request could not be parsed as a {type_name} (malformed protobuf, or invalid "
                        f"UTF-8 in a string field): {error}")


def tolerant_parser(message_cls):
    from google.protobuf.message import DecodeError

    def parse(data: bytes):
        try:
            return message_cls.FromString(data)
        except DecodeError as e:
            return Malformed(message_cls.DESCRIPTOR.full_name, str(e))

    return parse
