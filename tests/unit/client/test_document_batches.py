"""Document inserts are cut by encoded size as well as by count, so a batch of large
documents never meets the server's body limit (413) as one request."""

from __future__ import annotations

import httpx

from petrosa.client._batch import chunked_within
from tests.unit.client.conftest import MakeClient, Scripted, json_body


def test_a_chunk_ends_before_its_bytes_pass_the_budget() -> None:
    chunks = list(chunked_within(["aa", "bbb", "c", "dddddd", "e"], 10, 6, str.upper, len))
    assert chunks == [["AA"], ["BBB", "C"], ["DDDDDD"], ["E"]]  # cost: length and a comma
    assert list(chunked_within(range(5), 2, 1_000, str, len)) == [["0", "1"], ["2", "3"], ["4"]]


async def test_large_documents_go_in_requests_within_the_byte_budget(
    make_client: MakeClient,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        documents = json_body(request)["documents"]
        ids = [document["_id"] for document in documents]
        return httpx.Response(200, json={"inserted": len(ids), "ids": ids, "duplicates": 0})

    server = Scripted(then=answer)
    documents = [{"n": index, "note": "x" * 1_000} for index in range(10)]
    result = await make_client(server).insert("notes", documents, chunk_bytes=3_500)
    assert result.inserted == 10
    assert [len(json_body(r)["documents"]) for r in server.requests] == [3, 3, 3, 1]
    assert all(len(request.content) < 3_600 for request in server.requests)
