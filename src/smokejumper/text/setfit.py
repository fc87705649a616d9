"""Few-shot sentiment in the style of SetFit: tune the embedding model, then a regression.

Teaching takes a private copy of the embedding model (all-MiniLM-L6-v2 unless another
local folder is configured), tunes it contrastively on the labelled examples, so that
texts with the same label move together and texts with different labels apart, and
fits a logistic regression on the tuned embeddings (plus VADER's four scores). The
tuned weights live only in memory, never in the package or on disk.

Two ways to make the contrastive pairs (:class:`SetFitConfig.loss`):

* ``pairs``: SetFit's recipe (Tunstall et al., 2022): for every example, sampled
  same-label and different-label partners, and sentence-transformers'
  ``CosineSimilarityLoss`` (cosine of a pair towards 1 or 0).
* ``batch``: the same cosine target for *every* pair inside a batch of examples, so
  one pass over the examples sees batch_size² / 2 pairs; far cheaper on a CPU.

Cross-validation (:meth:`SetFitSentimentModel.cross_validate`) tunes a fresh copy in
each scored fold, so the estimate is honest; as that costs a full tuning per fold, only
the first ``cv_tuned_folds`` of the k folds are scored by default (one: the report's
``n`` is then about 1/k of the examples).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import
from smokejumper.text.evaluate import EvaluationReport, evaluate_predictions
from smokejumper.text.sentiment import (
    SentimentScore,
    checked_sentiment_labels,
    head_beside_taught,
    lexicon_features,
    lexicon_model,
    new_logistic_regression,
    scores_from_probabilities,
)
from smokejumper.text.sentiment_adapt import AdaptationConfig, HeadReading, TaughtAdaptation
from smokejumper.text.social import VERSION as SOCIAL_VERSION
from smokejumper.text.social import model_text

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.text.embeddings import Embedder, EmbeddingConfig

LOSSES = ("pairs", "batch")


@dataclass(frozen=True)
class SetFitConfig:
    """How the embedding model is tuned and the regression fitted.

    ``pairs_per_example`` (``pairs`` loss) counts a same-label and a different-label
    partner as two; ``frozen_layers`` keeps the embeddings and that many lower
    transformer layers fixed (cheaper backward pass); ``max_seq_length`` truncates
    long texts while tuning and scoring. At most ``tuning_examples`` examples (a sample
    that keeps every label's share) tune the embedding model, which bounds the teaching
    time; the regression always learns from all of them. ``cv_tuned_folds`` is how many of the k
    cross-validation folds are tuned and scored (see the module docstring).
    ``adaptation`` is how :meth:`SetFitSentimentModel.adapt` reads a pool: by default
    with the shipped head beside the taught model at half weight (``head_weight`` 0.5;
    an :class:`AdaptationConfig` given here reads none unless it says so).

    >>> SetFitConfig(epochs=0)
    Traceback (most recent call last):
    ...
    smokejumper.errors.TextError: setfit epochs must be at least 1, not 0
    """

    loss: str = "batch"
    epochs: int = 6
    batch_size: int = 32
    pairs_per_example: int = 8
    learning_rate: float = 7e-5
    warmup: float = 0.1
    max_seq_length: int = 64
    frozen_layers: int = 0
    lexicon_features: bool = True
    regularisation: float = 0.3
    balanced: bool = True
    max_iterations: int = 3000
    tuning_examples: int = 600
    cv_tuned_folds: int = 1
    seed: int = 0
    adaptation: AdaptationConfig = field(default_factory=lambda: AdaptationConfig(head_weight=0.5))

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise TextError(f"unknown setfit loss {self.loss!r}; expected pairs or batch")
        for name, least in (("epochs", 1), ("batch_size", 2), ("pairs_per_example", 2),
                            ("max_seq_length", 8), ("cv_tuned_folds", 1), ("tuning_examples", 2),
                            ("max_iterations", 1)):
            if getattr(self, name) < least:
                raise TextError(f"setfit {name} must be at least {least}, not "
                                f"{getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise TextError(f"setfit learning_rate must be in (0, 1), not {self.learning_rate}")
        if not 0 <= self.warmup < 1:
            raise TextError(f"setfit warmup must be in [0, 1), not {self.warmup}")
        if self.frozen_layers < 0:
            raise TextError(f"setfit frozen_layers must be 0 or more, not {self.frozen_layers}")
        if self.regularisation <= 0:
            raise TextError(f"setfit regularisation must be positive, not {self.regularisation}")

    @property
    def digest(self) -> str:
        """A short hash of every setting but ``adaptation`` (part of the model version; an
        adapted model's version names the adaptation's settings itself)."""
        settings = {name: value for name, value in asdict(self).items() if name != "adaptation"}
        return hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()[:8]


def contrastive_pairs(labels: Sequence[str], pairs_per_example: int,
                      seed: int = 0) -> list[tuple[int, int, float]]:
    """SetFit's pairs: per example and round, a same-label (1.0) and another-label (0.0) partner.

    >>> pairs = contrastive_pairs(["a", "a", "b", "b"], pairs_per_example=2)
    >>> len(pairs), sorted({target for _, _, target in pairs})
    (8, [0.0, 1.0])
    >>> all((["a", "a", "b", "b"][i] == ["a", "a", "b", "b"][j]) == (t == 1.0)
    ...     for i, j, t in pairs)
    True
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    indices = np.arange(len(labels_array))
    pairs: list[tuple[int, int, float]] = []
    for _ in range(max(1, pairs_per_example // 2)):
        for i in rng.permutation(indices):
            same = indices[(labels_array == labels_array[i]) & (indices != i)]
            other = indices[labels_array != labels_array[i]]
            if len(same):
                pairs.append((int(i), int(rng.choice(same)), 1.0))
            if len(other):
                pairs.append((int(i), int(rng.choice(other)), 0.0))
    order = rng.permutation(len(pairs))
    return [pairs[k] for k in order]


def _freeze_lower_layers(model: Any, frozen_layers: int) -> None:
    if frozen_layers <= 0:
        return
    for name, parameter in model.named_parameters():
        parts = name.split(".")
        if "embeddings" in parts:
            parameter.requires_grad_(False)
        elif "layer" in parts:
            position = parts.index("layer")
            if position + 1 < len(parts) and parts[position + 1].isdigit() and \
                    int(parts[position + 1]) < frozen_layers:
                parameter.requires_grad_(False)


def _cosine_similarity_loss() -> Any:
    try:  # sentence-transformers 6 moved the losses; the old path still works, with a warning
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    except ImportError:  # pragma: no cover - older sentence-transformers
        from sentence_transformers.losses import (  # type: ignore[no-redef]
            CosineSimilarityLoss,
        )
    return CosineSimilarityLoss


def tune_encoder(model: Any, texts: Sequence[str], labels: Sequence[str],
                 config: SetFitConfig) -> Any:
    """Tune ``model`` (a SentenceTransformer, changed in place) on labelled texts; returns it."""
    import numpy as np

    torch = optional_import("torch")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model.max_seq_length = config.max_seq_length
    _freeze_lower_layers(model, config.frozen_layers)
    device = model.device
    texts = list(texts)
    label_ids = {label: k for k, label in enumerate(sorted(set(labels)))}
    targets = torch.tensor([label_ids[label] for label in labels], device=device)

    def features(indices: Sequence[int]) -> dict[str, Any]:
        tokenize = getattr(model, "preprocess", None) or model.tokenize
        batch = tokenize([texts[i] for i in indices])
        return {key: value.to(device) if hasattr(value, "to") else value
                for key, value in batch.items()}

    if config.loss == "pairs":
        pairs = contrastive_pairs(labels, config.pairs_per_example, config.seed)
        pair_loss = _cosine_similarity_loss()(model)
        batches = [pairs[b:b + config.batch_size]
                   for _ in range(config.epochs)
                   for b in range(0, len(pairs), config.batch_size)]
    else:
        batches = []
        for _ in range(config.epochs):
            order = rng.permutation(len(texts))
            batches.extend(order[b:b + config.batch_size].tolist()
                           for b in range(0, len(order), config.batch_size)
                           if len(order[b:b + config.batch_size]) >= 2)

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate)
    steps = max(1, len(batches))
    warmup = max(1, int(config.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps))
    model.train()
    for batch in batches:
        if config.loss == "pairs":
            value = pair_loss([features([p[0] for p in batch]), features([p[1] for p in batch])],
                              torch.tensor([p[2] for p in batch], device=device))
        else:
            embeddings = model(features(batch))["sentence_embedding"]  # type: ignore[arg-type]
            embeddings = torch.nn.functional.normalize(embeddings, dim=1)
            similarity = embeddings @ embeddings.T
            ids = targets[batch]
            wanted = (ids[:, None] == ids[None, :]).float()
            upper = torch.triu(torch.ones_like(similarity, dtype=torch.bool), diagonal=1)
            value = ((similarity - wanted) ** 2)[upper].mean()
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model


class SetFitSentimentModel:
    """An embedding model tuned on the labelled examples, then a logistic regression.

    It must be taught (:meth:`fit`) before it scores; its score is
    P(positive) - P(negative), like the ``embedding`` model's.
    """

    name = "setfit"

    def __init__(self, embedder: Embedder | None = None,
                 config: SetFitConfig | None = None) -> None:
        from smokejumper.text.embeddings import EmbeddingConfig, load_embedder

        base = embedder.config if embedder is not None else EmbeddingConfig()
        if base.backend != "torch":  # tuning needs the torch model, not an ONNX export
            embedder = load_embedder(replace(base, backend="torch"))
        self.embedder = embedder or load_embedder(base)
        self.config = config or SetFitConfig()
        self._encoder: Any = None
        self._classifier: Any = None
        self._taught_on = ""
        self._adaptation: TaughtAdaptation | None = None
        self._vader = lexicon_model(self.config.lexicon_features)

    @classmethod
    def from_embedding_config(cls, embedding: EmbeddingConfig,
                              config: SetFitConfig | None = None) -> SetFitSentimentModel:
        """The model on the embedding model that ``embedding`` names."""
        from smokejumper.text.embeddings import load_embedder

        return cls(load_embedder(embedding), config)

    @property
    def version(self) -> str:
        adapted = f":{self._adaptation.tag}" if self._adaptation is not None else ""
        return (f"setfit:{self.embedder.model_id}:{self.config.digest}:{SOCIAL_VERSION}:"
                f"{self._taught_on or 'untaught'}{adapted}")

    @property
    def is_taught(self) -> bool:
        """Whether :meth:`fit` has run."""
        return self._classifier is not None

    @property
    def can_adapt(self) -> bool:
        """Whether :meth:`adapt` would learn anything: once taught."""
        return self.is_taught

    @property
    def is_adapted(self) -> bool:
        """Whether :meth:`adapt` has run since the last teaching."""
        return self._adaptation is not None

    def adapt(self, texts: Sequence[str]) -> SetFitSentimentModel:
        """Read each text with its nearest texts of this pool (unlabelled; usually the
        texts about to be scored): its probabilities are averaged with the taught model's
        probabilities of its ``adapt_neighbours`` most similar pool texts, similar as the
        untuned embedding model sees them (:class:`~smokejumper.text.sentiment_adapt.
        TaughtAdaptation`; settings: ``config.adaptation``). Untaught, it is left as it is.
        """
        if not self.can_adapt or len(texts) == 0:
            return self
        features = self._features(self._encoder, texts)
        vectors = self._untuned_vectors(texts)
        self._adaptation = TaughtAdaptation.learn(
            texts, vectors, self._classifier.predict_proba(features), self.config.adaptation,
            self._head_beside(texts, vectors, features))
        return self

    def _head_beside(self, texts: Sequence[str], vectors: np.ndarray,
                     features: np.ndarray) -> HeadReading | None:
        """The shipped head's reading of the texts (from their untuned embeddings), read
        beside the taught model once it reads its pool."""
        return head_beside_taught(self.embedder, self.config.adaptation.head_weight,
                                  self._vader, texts, vectors, features,
                                  self._classifier.classes_)

    def _untuned_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The texts as the embedding model reads them before tuning."""
        return self.embedder.encode([model_text(text) for text in texts])

    def _tuned_copy(self, texts: Sequence[str], labels: Sequence[str]) -> Any:
        model = copy.deepcopy(self.embedder.model)
        if len(texts) > self.config.tuning_examples:
            split = optional_import("sklearn.model_selection").train_test_split
            texts, _, labels, _ = split(list(texts), list(labels),
                                        train_size=self.config.tuning_examples,
                                        stratify=list(labels), random_state=self.config.seed)
        return tune_encoder(model, texts, labels, self.config)

    def _features(self, encoder: Any, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        vectors = np.asarray(encoder.encode([model_text(t) for t in texts],
                                            batch_size=self.embedder.config.batch_size,
                                            show_progress_bar=False, convert_to_numpy=True,
                                            normalize_embeddings=True), dtype=np.float32)
        if self._vader is None:
            return vectors
        return np.hstack([vectors, lexicon_features(self._vader, texts)])

    def _new_classifier(self) -> Any:
        return new_logistic_regression(self.config)

    def _fit_on(self, texts: Sequence[str], labels: list[str]) -> tuple[Any, Any]:
        encoder = self._tuned_copy([model_text(text) for text in texts], labels)
        classifier = self._new_classifier()
        classifier.fit(self._features(encoder, texts), labels)
        return encoder, classifier

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SetFitSentimentModel:
        """Tune a copy of the embedding model and fit the regression; returns itself."""
        normalised = checked_sentiment_labels(texts, labels)
        self._encoder, self._classifier = self._fit_on(texts, normalised)
        self._adaptation = None
        digest = hashlib.sha256()
        for text, label in zip(texts, normalised, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        self._taught_on = digest.hexdigest()[:12]
        return self

    def cross_validate(self, texts: Sequence[str], labels: Sequence[str],
                       folds: int = 5) -> EvaluationReport:
        """Stratified k-fold, tuning a fresh copy per fold, on the first ``cv_tuned_folds``.

        The report's ``n`` is the number of held-out examples actually scored.
        """
        normalised = checked_sentiment_labels(texts, labels)
        smallest = min(normalised.count(label) for label in set(normalised))
        if smallest < folds:
            raise TextError(f"{folds}-fold cross-validation needs at least {folds} examples "
                            f"of each label; the rarest has {smallest}")
        splitter = optional_import("sklearn.model_selection").StratifiedKFold(
            n_splits=folds, shuffle=True, random_state=self.config.seed)
        gold: list[str] = []
        predicted: list[str] = []
        for fold, (train, test) in enumerate(splitter.split(normalised, normalised)):
            if fold >= self.config.cv_tuned_folds:
                break
            encoder, classifier = self._fit_on([texts[i] for i in train],
                                               [normalised[i] for i in train])
            predicted.extend(str(label) for label in classifier.predict(
                self._features(encoder, [texts[i] for i in test])))
            gold.extend(normalised[i] for i in test)
        report = evaluate_predictions(gold, predicted)
        return replace(report, folds=folds)

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        if self._classifier is None:
            raise TextError("the setfit sentiment model must be taught first: give it "
                            "labelled examples (text eval --train FILE)")
        if len(texts) == 0:
            return []
        features = self._features(self._encoder, texts)
        probabilities = self._classifier.predict_proba(features)
        if self._adaptation is not None:
            vectors = self._untuned_vectors(texts)
            probabilities = self._adaptation.probabilities(
                vectors, probabilities, self._head_beside(texts, vectors, features))
        return scores_from_probabilities(probabilities,
                                         [str(c) for c in self._classifier.classes_])
