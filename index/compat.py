"""What ``IndexStore`` did before the index/ split, kept as thin deprecated shims.

New code reads through ``index.Retriever`` (from ``index.open_or_build``) and writes with
``index.add_documents`` / ``index.remove_documents``; qa/, ui/ and eval/ still call these on
the store, and they go once those callers have moved.

    >>> store = IndexStore.open(".cache/index/default")
    >>> store.search("Who speaks for the NSC?", k=1)          # Retriever(store, embedder).search
"""

from __future__ import annotations


class DeprecatedStoreMethods:
    """Mixed into ``IndexStore``: search, acronyms and ingest through the new components."""

    _embedder = None
    _shim_retriever = None

    @property
    def embedder(self):
        """The embedder given at open/create, or one for the model the index was built with."""
        if self._embedder is None:
            from index.embedder import Embedder

            self._embedder = Embedder(self.settings.embed_model)
        return self._embedder

    def _retriever(self):
        if self._shim_retriever is None:
            from index.retriever import Retriever

            self._shim_retriever = Retriever(self, self.embedder)
        return self._shim_retriever

    def add_documents(self, docs, progress: bool = True):
        """Deprecated: ``index.add_documents(store, embedder, docs)``."""
        from index.ingest import add_documents

        return add_documents(self, self.embedder, docs, progress)

    def remove_document(self, doc_id: str) -> None:
        """Deprecated: ``index.remove_documents(store, [doc_id])``."""
        from index.ingest import remove_documents

        remove_documents(self, [doc_id])

    def search(self, query: str, k: int = 5, mode: str = "hybrid", rrf_k: int = 60):
        """Deprecated: ``Retriever.search``."""
        return self._retriever().search(query, k=k, mode=mode, rrf_k=rrf_k)

    def spell_out_acronyms(self, text: str) -> str:
        """Deprecated: ``Retriever.spell_out_acronyms``."""
        return self._retriever().spell_out_acronyms(text)
