from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    LINEAR16: _ClassVar[AudioEncoding]
    FLOAT32: _ClassVar[AudioEncoding]
ENCODING_UNSPECIFIED: AudioEncoding
LINEAR16: AudioEncoding
FLOAT32: AudioEncoding

class EndpointingConfig(_message.Message):
    __slots__ = ("disabled", "silence_without_text_s", "silence_after_text_s", "max_utterance_s", "quiet_after_text_s")
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    SILENCE_WITHOUT_TEXT_S_FIELD_NUMBER: _ClassVar[int]
    SILENCE_AFTER_TEXT_S_FIELD_NUMBER: _ClassVar[int]
    MAX_UTTERANCE_S_FIELD_NUMBER: _ClassVar[int]
    QUIET_AFTER_TEXT_S_FIELD_NUMBER: _ClassVar[int]
    disabled: bool
    silence_without_text_s: float
    silence_after_text_s: float
    max_utterance_s: float
    quiet_after_text_s: float
    def __init__(self, disabled: _Optional[bool] = ..., silence_without_text_s: _Optional[float] = ..., silence_after_text_s: _Optional[float] = ..., max_utterance_s: _Optional[float] = ..., quiet_after_text_s: _Optional[float] = ...) -> None: ...

class RecognitionConfig(_message.Message):
    __slots__ = ("model", "encoding", "sample_rate_hz", "channels", "interim_results", "word_time_offsets", "max_alternatives", "endpointing", "single_utterance", "constraint")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    INTERIM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    WORD_TIME_OFFSETS_FIELD_NUMBER: _ClassVar[int]
    MAX_ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTING_FIELD_NUMBER: _ClassVar[int]
    SINGLE_UTTERANCE_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINT_FIELD_NUMBER: _ClassVar[int]
    model: str
    encoding: AudioEncoding
    sample_rate_hz: int
    channels: int
    interim_results: bool
    word_time_offsets: bool
    max_alternatives: int
    endpointing: EndpointingConfig
    single_utterance: bool
    constraint: Constraint
    def __init__(self, model: _Optional[str] = ..., encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ..., interim_results: _Optional[bool] = ..., word_time_offsets: _Optional[bool] = ..., max_alternatives: _Optional[int] = ..., endpointing: _Optional[_Union[EndpointingConfig, _Mapping]] = ..., single_utterance: _Optional[bool] = ..., constraint: _Optional[_Union[Constraint, _Mapping]] = ...) -> None: ...

class Constraint(_message.Message):
    __slots__ = ("vocabulary", "vocabulary_set", "phrases")
    VOCABULARY_FIELD_NUMBER: _ClassVar[int]
    VOCABULARY_SET_FIELD_NUMBER: _ClassVar[int]
    PHRASES_FIELD_NUMBER: _ClassVar[int]
    vocabulary: _containers.RepeatedScalarFieldContainer[str]
    vocabulary_set: str
    phrases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vocabulary: _Optional[_Iterable[str]] = ..., vocabulary_set: _Optional[str] = ..., phrases: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamingRecognizeRequest(_message.Message):
    __slots__ = ("config", "audio")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    config: RecognitionConfig
    audio: bytes
    def __init__(self, config: _Optional[_Union[RecognitionConfig, _Mapping]] = ..., audio: _Optional[bytes] = ...) -> None: ...

class WordInfo(_message.Message):
    __slots__ = ("word", "start_s", "end_s", "confidence")
    WORD_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    word: str
    start_s: float
    end_s: float
    confidence: float
    def __init__(self, word: _Optional[str] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class Alternative(_message.Message):
    __slots__ = ("transcript", "confidence", "words")
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    transcript: str
    confidence: float
    words: _containers.RepeatedCompositeFieldContainer[WordInfo]
    def __init__(self, transcript: _Optional[str] = ..., confidence: _Optional[float] = ..., words: _Optional[_Iterable[_Union[WordInfo, _Mapping]]] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("alternatives", "is_final", "stability", "utterance_index", "result_end_s")
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    STABILITY_FIELD_NUMBER: _ClassVar[int]
    UTTERANCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_END_S_FIELD_NUMBER: _ClassVar[int]
    alternatives: _containers.RepeatedCompositeFieldContainer[Alternative]
    is_final: bool
    stability: float
    utterance_index: int
    result_end_s: float
    def __init__(self, alternatives: _Optional[_Iterable[_Union[Alternative, _Mapping]]] = ..., is_final: _Optional[bool] = ..., stability: _Optional[float] = ..., utterance_index: _Optional[int] = ..., result_end_s: _Optional[float] = ...) -> None: ...

class Latency(_message.Message):
    __slots__ = ("audio_received_s", "audio_processed_s", "queue_ms", "compute_ms")
    AUDIO_RECEIVED_S_FIELD_NUMBER: _ClassVar[int]
    AUDIO_PROCESSED_S_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_MS_FIELD_NUMBER: _ClassVar[int]
    audio_received_s: float
    audio_processed_s: float
    queue_ms: float
    compute_ms: float
    def __init__(self, audio_received_s: _Optional[float] = ..., audio_processed_s: _Optional[float] = ..., queue_ms: _Optional[float] = ..., compute_ms: _Optional[float] = ...) -> None: ...

class StreamingRecognizeResponse(_message.Message):
    __slots__ = ("results", "end_of_utterance", "latency")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    END_OF_UTTERANCE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Result]
    end_of_utterance: bool
    latency: Latency
    def __init__(self, results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., end_of_utterance: _Optional[bool] = ..., latency: _Optional[_Union[Latency, _Mapping]] = ...) -> None: ...

class RecognizeRequest(_message.Message):
    __slots__ = ("config", "audio")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    config: RecognitionConfig
    audio: bytes
    def __init__(self, config: _Optional[_Union[RecognitionConfig, _Mapping]] = ..., audio: _Optional[bytes] = ...) -> None: ...

class RecognizeResponse(_message.Message):
    __slots__ = ("results", "audio_s")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_S_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Result]
    audio_s: float
    def __init__(self, results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., audio_s: _Optional[float] = ...) -> None: ...

class StreamingEncodeResponse(_message.Message):
    __slots__ = ("first_frame", "frames", "dim", "embeddings", "frame_s")
    FIRST_FRAME_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    FRAME_S_FIELD_NUMBER: _ClassVar[int]
    first_frame: int
    frames: int
    dim: int
    embeddings: _containers.RepeatedScalarFieldContainer[float]
    frame_s: float
    def __init__(self, first_frame: _Optional[int] = ..., frames: _Optional[int] = ..., dim: _Optional[int] = ..., embeddings: _Optional[_Iterable[float]] = ..., frame_s: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "family", "streaming", "trained", "frame_ms", "lookahead_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    FRAME_MS_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    family: str
    streaming: bool
    trained: bool
    frame_ms: float
    lookahead_ms: float
    def __init__(self, name: _Optional[str] = ..., family: _Optional[str] = ..., streaming: _Optional[bool] = ..., trained: _Optional[bool] = ..., frame_ms: _Optional[float] = ..., lookahead_ms: _Optional[float] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "default_model")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    default_model: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., default_model: _Optional[str] = ...) -> None: ...
