"""Data for rnnkit: the registry of public datasets, text readers, tokenizers and
language-model batching (raw file -> text -> token ids -> ``(x, y)`` windows); audio
reading, speech data sets, log-mel features (``rnnkit.data.features``) and connected speech."""

from .audio import Utterance as Utterance
from .audio import read_audio as read_audio
from .audio import read_speech_data as read_speech_data
from .audio import resample as resample
from .connected import ConnectedSpeech as ConnectedSpeech
from .lm import RandomWindows as RandomWindows
from .lm import StreamWindows as StreamWindows
from .lm import batchify as batchify
from .lm import chunk_windows as chunk_windows
from .lm import shard_stream as shard_stream
from .registry import DataNotFoundError as DataNotFoundError
from .registry import Dataset as Dataset
from .registry import DownloadError as DownloadError
from .registry import RemoteFile as RemoteFile
from .registry import cache_dir as cache_dir
from .registry import data_dir as data_dir
from .registry import dataset_names as dataset_names
from .registry import dataset_path as dataset_path
from .registry import get_dataset as get_dataset
from .registry import is_registered as is_registered
from .registry import verify_file as verify_file
from .text import read_splits as read_splits
from .text import read_text as read_text
from .text import split_text as split_text
from .tokenize import BPETokenizer as BPETokenizer
from .tokenize import CharTokenizer as CharTokenizer
from .tokenize import Tokenizer as Tokenizer
from .tokenize import WordTokenizer as WordTokenizer
from .tokenize import make_tokenizer as make_tokenizer
from .tokenize import tokenizer_from_dict as tokenizer_from_dict

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "ConnectedSpeech",
    "DataNotFoundError",
    "Dataset",
    "DownloadError",
    "RandomWindows",
    "RemoteFile",
    "StreamWindows",
    "Tokenizer",
    "Utterance",
    "WordTokenizer",
    "batchify",
    "cache_dir",
    "chunk_windows",
    "data_dir",
    "dataset_names",
    "dataset_path",
    "get_dataset",
    "is_registered",
    "make_tokenizer",
    "read_audio",
    "read_speech_data",
    "read_splits",
    "read_text",
    "resample",
    "shard_stream",
    "split_text",
    "tokenizer_from_dict",
    "verify_file",
]
