"""A rule-based sentence splitter in the ONNX form MiniSBD reads, for packages Hearth writes.

argostranslate splits sentences with a package's `minisbd/<lang>.onnx`; a package without one
makes MiniSBD download a model on first use, which fails on an offline server. The graph below
needs no training: a sentence ends after `.`, `!` or `?` followed by the end of the text or by a
space that is not followed by a lower-case letter (so `3 p.m. today` stays whole), and after
`。`, `！`, `？`. Building it needs the `onnx` package (the `hearth[convert]` extra); reading it
needs only what argos-translate-lt already brings (onnxruntime, through minisbd)."""

import json

ASCII_TERMINALS = ".!?"
CJK_TERMINALS = "。！？"
LOWER_CASE = (
    "abcdefghijklmnopqrstuvwxyzáéíóúüñçèòàùâêîôû"
    "àảãạăằắẳẵặâầấẩẫậđèẻẽẹêềếểễệìỉĩịòỏõọôồốổỗộơờớởỡợùủũụưừứửữựỳýỷỹỵ"
)
# Character categories.
OTHER, SPACE, ASCII_END, CJK_END, PAD, LOWER = range(6)
CATEGORIES = 6
# MiniSBD's labels: 0 inside a token, 1 end of a token, 2 end of a sentence (3/4: multi-word).
INSIDE, TOKEN_END, SENTENCE_END = 0, 1, 2


def _vocabulary() -> tuple[list[str], list[int]]:
    units = ["<PAD>", "<UNK>", " ", *ASCII_TERMINALS, *CJK_TERMINALS]
    categories = [PAD, OTHER, SPACE] + [ASCII_END] * 3 + [CJK_END] * 3
    for char in dict.fromkeys(LOWER_CASE):
        if char not in units:
            units.append(char)
            categories.append(LOWER)
    return units, categories


def _label(category: int, following: int, after_that: int) -> int:
    if category == ASCII_END:
        if following == PAD:
            return SENTENCE_END
        if following == SPACE:
            return TOKEN_END if after_that == LOWER else SENTENCE_END
        return INSIDE  # "3.5", "...", "?!": the last terminal of a run decides
    if category == CJK_END:
        return INSIDE if following in (ASCII_END, CJK_END) else SENTENCE_END
    if category in (OTHER, LOWER):
        return TOKEN_END if following in (SPACE, PAD) else INSIDE
    return INSIDE


def minisbd_model(lang: str) -> bytes:
    """The splitter for `minisbd/<lang>.onnx` (the rules are the same for every language)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    units, categories = _vocabulary()
    table = np.zeros(CATEGORIES**3, dtype=np.int64)
    for a in range(CATEGORIES):
        for b in range(CATEGORIES):
            for c in range(CATEGORIES):
                table[(a * CATEGORIES + b) * CATEGORIES + c] = _label(a, b, c)

    constants = {
        "category_of": np.array(categories, dtype=np.int64),
        "label_of": table,
        "one_hot": np.eye(5, dtype=np.float32),
        "i0": np.array([0], dtype=np.int64),
        "i1": np.array([1], dtype=np.int64),
        "i_end": np.array([2**62], dtype=np.int64),
        "zero": np.array(0, dtype=np.int64),
        "pad": np.array(PAD, dtype=np.int64),
        "n1": np.array(CATEGORIES, dtype=np.int64),
        "n2": np.array(CATEGORIES * CATEGORIES, dtype=np.int64),
        "fzero": np.array(0.0, dtype=np.float32),
    }
    node = helper.make_node
    nodes = [
        node("Gather", ["category_of", "units"], ["cat"], axis=0),
        # a [batch, 1] column of PAD, appended to look one and two characters ahead
        node("Slice", ["cat", "i0", "i1", "i1"], ["first_col"]),
        node("Mul", ["first_col", "zero"], ["zero_col"]),
        node("Add", ["zero_col", "pad"], ["pad_col"]),
        node("Slice", ["cat", "i1", "i_end", "i1"], ["cat_tail"]),
        node("Concat", ["cat_tail", "pad_col"], ["next"], axis=1),
        node("Slice", ["next", "i1", "i_end", "i1"], ["next_tail"]),
        node("Concat", ["next_tail", "pad_col"], ["next2"], axis=1),
        node("Mul", ["cat", "n2"], ["a"]),
        node("Mul", ["next", "n1"], ["b"]),
        node("Add", ["a", "b"], ["ab"]),
        node("Add", ["ab", "next2"], ["index"]),
        node("Gather", ["label_of", "index"], ["label"], axis=0),
        node("Gather", ["one_hot", "label"], ["scores"], axis=0),
        # MiniSBD always feeds `features`: consume it so the graph accepts it
        node("ReduceSum", ["features"], ["feature_sum"], keepdims=0),
        node("Mul", ["feature_sum", "fzero"], ["feature_zero"]),
        node("Add", ["scores", "feature_zero"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rule_sbd",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "chars"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "chars", 1]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "chars", 5])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="hearth"
    )
    model.ir_version = 8
    vocab_state = {
        "lang": "",
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_unit2id": {u: i for i, u in enumerate(units)},
        "_id2unit": units,
    }
    config = {
        "feat_funcs": ["space_before"],
        "max_seqlen": 1000,
        "batch_size": 32,
        "skip_newline": False,
        "no_ssplit": False,
        "use_dictionary": False,
        "num_dict_feat": 0,
    }
    helper.set_model_props(
        model,
        {
            "lang_code": lang,
            "config": json.dumps(config),
            "vocab": json.dumps(vocab_state, ensure_ascii=False),
            "lexicon": "null",
            "description": "Rule-based splitter: a sentence ends after . ! ? (followed by the end "
            "or by a space not followed by a lower-case letter) and after 。！？",
        },
    )
    onnx.checker.check_model(model)
    serialized: bytes = model.SerializeToString()
    return serialized
