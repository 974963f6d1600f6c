"""The socket client against a real ``petrosa exchange-sim serve`` process and real NATS:
two symbols' depth, trades and book tickers interleaved on USD-M's two routes, and the
maintained books synced from the simulator's diff stream and REST snapshot."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import nats
import orjson
import pytest
from nats.aio.msg import Msg

from petrosa.contracts.market import Market
from petrosa.exchange.binance import BinanceClient
from petrosa.socketclient.book_sync import BookKeeper
from petrosa.socketclient.plan import build_plan
from petrosa.socketclient.service import SocketClient
from petrosa.socketclient.settings import SocketClientSettings
from tests.integration.test_socketclient import wait_for
from tests.support.server import RunningServer, start_exchange_simulator
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(tmp_path_factory.mktemp("sim-sc"))
    yield server
    server.stop()


@pytest.fixture
async def binance(simulator: RunningServer) -> AsyncIterator[BinanceClient]:
    async with BinanceClient(Market.FUTURES, base_url=simulator.base_url) as client:
        yield client


async def test_streams_and_books_from_the_simulator(
    simulator: RunningServer, binance: BinanceClient
) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    settings = SocketClientSettings(
        markets=(Market.FUTURES,),
        symbols=SYMBOLS,
        streams=("aggTrade", "depth", "bookTicker"),
        futures_ws_url=simulator.base_url.replace("http", "ws"),
        nats_url=NATS_URL,
    )
    plan = build_plan(settings.markets, SYMBOLS, settings.streams, books=True)
    client = SocketClient(settings, plan, fetchers={Market.FUTURES: binance.depth})
    messages: list[Msg] = []

    async def take(message: Msg) -> None:
        messages.append(message)

    listener = await nats.connect(NATS_URL)
    started = int(time.time() * 1000)
    await listener.subscribe("binance.futures.*.*", cb=take)
    await listener.flush()
    await client.start()
    try:
        await wait_for(lambda: all(k.synced for k in _keepers(client)), "books synced")
        await wait_for(lambda: len(messages) > 200, "messages")
        await wait_for(lambda: any(".book." in m.subject for m in messages), "a book message")
    finally:
        await client.stop()
        await listener.drain()
    for message in messages:
        _, market, token, symbol = message.subject.split(".")
        body = orjson.loads(message.data)
        assert market == "futures"
        if token == "book":
            assert body["symbol"] == symbol
            assert body["last_update_id"] is not None
            continue
        assert body["stream"] == f"{symbol.lower()}@{token}"
        assert body["data"]["s"] == symbol
        assert body["received_at"] >= started
    assert {m.subject.split(".")[2] for m in messages} >= {"aggTrade", "depth", "bookTicker"}


def _keepers(client: SocketClient) -> list[BookKeeper]:
    return [book.keeper for book in client.desk.books.values()]
