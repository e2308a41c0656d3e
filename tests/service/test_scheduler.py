"""The scheduler that batches streams' steps, in process."""

import asyncio
import threading

import numpy as np

from models.engine import Recogniser
from models.registry import untrained_model
from service.scheduler import Scheduler


def test_steps_run_while_the_shared_thread_pool_is_busy():
    """Finals and file passes run in asyncio's shared pool; a burst of them filling every thread
    must not hold up streams' steps (partials)."""
    rec = Recogniser(untrained_model("wavenet-base"), max_streams=1)
    release = threading.Event()

    async def main():
        loop = asyncio.get_running_loop()
        blockers = [loop.run_in_executor(None, release.wait) for _ in range(64)]  # more than the pool's threads
        scheduler = Scheduler(rec)
        scheduler.start()
        stream = rec.open_stream()
        try:
            timed = await asyncio.wait_for(scheduler.submit(stream, np.zeros(rec.sample_rate, np.float32)), 60)
            assert timed.result.new_frames > 0
            assert not release.is_set()  # the pool was still full when the step came back
        finally:
            release.set()
            await asyncio.gather(*blockers)
            stream.close()
            await scheduler.stop()

    asyncio.run(main())
