// ProgressBar: the exact text drawn for a fake clock (counts, percent, rate,
// ETA formats, padding over a longer line), throttling, finish and the
// destructor's newline, a disabled bar writing nothing, argument errors, and
// concurrent updates from worker threads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "kreg/error.hpp"
#include "test_support.hpp"
#include "tool/progress.hpp"

namespace {

using kreg::ProgressBar;
using kreg::ProgressOptions;

const auto argument_error = kreg::test::error_of<kreg::ArgumentError>;

// A tmpfile() the bar writes to, and a clock the test moves by hand.
class Progress : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = std::tmpfile();
    ASSERT_NE(stream_, nullptr);
  }
  void TearDown() override { std::fclose(stream_); }

  ProgressOptions options(double min_interval_s = 0.1) {
    ProgressOptions opts;
    opts.enabled = true;
    opts.stream = stream_;
    opts.min_interval_s = min_interval_s;
    opts.clock = [this] { return now_; };
    return opts;
  }

  // Everything written so far.
  std::string written() {
    std::fflush(stream_);
    std::rewind(stream_);
    std::string text;
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, stream_)) > 0) text.append(buffer, got);
    std::fseek(stream_, 0, SEEK_END);
    return text;
  }

  std::FILE* stream_ = nullptr;
  double now_ = 1000.0;  // an arbitrary epoch: only differences matter
};

TEST_F(Progress, ExactLines) {
  {
    ProgressBar bar("tune", 30, options());
    now_ += 4.0;
    bar.update(12);  // 12 in 4 s: 3.0/s, 18 left: 6 s
    now_ += 1.0;
    bar.update(15);  // 15 in 5 s: 3.0/s, 15 left: 5 s
    now_ += 5.0;
    bar.update(30);  // all done
    bar.finish();
  }
  EXPECT_EQ(written(),
            "\rtune  0/30  0%  ETA ?"
            "\rtune  12/30  40%  3.0/s  ETA 6s"
            "\rtune  15/30  50%  3.0/s  ETA 5s"
            "\rtune  30/30  100%  3.0/s  ETA 0s"
            "\rtune  30/30  100%  3.0/s  elapsed 10s\n");
}

TEST_F(Progress, EtaFormatsAndRounding) {
  {
    ProgressBar bar("cv", 100000, options(0.0));
    now_ += 10.0;
    bar.update(1);  // 0.1/s, 99999 left: 999990 s = 277h46m30s
    now_ += 90.0;
    bar.update(1000);  // 10/s, 99000 left: 9900 s = 2h45m
    now_ += 900.0;
    bar.update(99000);  // 99/s, 1000 left: 10.101.. s, rounded up to 11 s
    now_ += 2.0;
    bar.update(99990);  // 99.79/s, 10 left: 0.1 s, rounded up to 1 s; 99.99% rounds down
  }
  EXPECT_EQ(written(),
            "\rcv  0/100000  0%  ETA ?"
            "\rcv  1/100000  0%  0.1/s  ETA 277h46m"
            "\rcv  1000/100000  1%  10.0/s  ETA 2h45m"
            "\rcv  99000/100000  99%  99.0/s  ETA 11s"
            "\rcv  99990/100000  99%  99.8/s  ETA 1s \n");  // padded over "11s"
}

TEST_F(Progress, MinutesAndRates) {
  {
    ProgressBar bar("grid", 1000, options(0.0));
    now_ += 2.0;
    bar.update(1);  // 0.5/s, 999 left: 1998 s = 33m18s
    now_ += 3598.0;
    bar.update(2);  // 1 per 1800 s, 998 left: 1796400 s = 499h00m
    bar.update(3);  // same instant: 1 per 1200 s, 997 left: 1196400 s = 332h20m
  }
  EXPECT_EQ(written(),
            "\rgrid  0/1000  0%  ETA ?"
            "\rgrid  1/1000  0%  0.5/s  ETA 33m18s"
            "\rgrid  2/1000  0%  0.00056/s  ETA 499h00m"
            "\rgrid  3/1000  0%  0.00083/s  ETA 332h20m\n");
}

TEST_F(Progress, HighRateAndSecondsMinutesBoundary) {
  {
    ProgressBar bar("nw", 100000, options(0.0));
    now_ += 1.0;
    bar.update(250);  // 250/s, 99750 left: 399 s = 6m39s
    now_ += 99.0;
    bar.update(98500);  // 985/s, 1500 left: 1.52 s -> 2 s
  }
  EXPECT_EQ(written(),
            "\rnw  0/100000  0%  ETA ?"
            "\rnw  250/100000  0%  250/s  ETA 6m39s"
            "\rnw  98500/100000  98%  985/s  ETA 2s\n");
}

TEST_F(Progress, ShorterLineIsPaddedOverTheLonger) {
  {
    ProgressBar bar("t", 10, options(0.0));
    now_ += 1.0;
    bar.update(1);  // 1.0/s, 9 left: 9 s
    now_ += 100.0;
    bar.update(2);  // 2 in 101 s: 0.0198/s, 8 left: 404 s = 6m44s
    bar.finish();
  }
  EXPECT_EQ(written(),
            "\rt  0/10  0%  ETA ?"
            "\rt  1/10  10%  1.0/s  ETA 9s"
            "\rt  2/10  20%  0.02/s  ETA 6m44s"
            "\rt  2/10  20%  0.02/s  elapsed 1m41s\n");

  // A shorter line overwrites the rest of the longer one with spaces.
  std::FILE* other = std::tmpfile();
  ASSERT_NE(other, nullptr);
  ProgressOptions opts = options(0.0);
  opts.stream = other;
  {
    ProgressBar bar("t", 10, opts);  // "t  0/10  0%  ETA ?": 18 characters
    now_ += 1000.0;
    bar.update(1);  // "t  1/10  10%  0.001/s  ETA 2h30m": 32 characters
    now_ += 1.0;
    bar.update(10);  // "t  10/10  100%  0.01/s  ETA 0s": 30, padded by 2
  }
  std::fflush(other);
  std::rewind(other);
  char buffer[512] = {};
  const std::size_t got = std::fread(buffer, 1, sizeof buffer - 1, other);
  std::fclose(other);
  EXPECT_EQ(std::string(buffer, got),
            "\rt  0/10  0%  ETA ?"
            "\rt  1/10  10%  0.001/s  ETA 2h30m"
            "\rt  10/10  100%  0.01/s  ETA 0s  \n");
}

TEST_F(Progress, Throttling) {
  {
    // Steps that are exact in binary, so "0.5 s later" is exactly 0.5.
    ProgressBar bar("tune", 100, options(0.5));
    now_ += 0.25;
    bar.update(1);  // 0.25 s after the first line: skipped
    now_ += 0.125;
    bar.update(2);  // 0.375 s: skipped
    now_ += 0.125;
    bar.update(3);  // 0.5 s: drawn; 6/s, 97 left: 16.2 s -> 17 s
    now_ += 0.25;
    bar.update(4);  // 0.25 s after that: skipped
    bar.finish();   // always drawn, with the latest count: 4 in 0.75 s
  }
  EXPECT_EQ(written(),
            "\rtune  0/100  0%  ETA ?"
            "\rtune  3/100  3%  6.0/s  ETA 17s"
            "\rtune  4/100  4%  5.3/s  elapsed 1s\n");
}

TEST_F(Progress, StaleUpdatesAreIgnored) {
  {
    ProgressBar bar("p", 10, options(0.0));
    now_ += 1.0;
    bar.update(5);
    now_ += 1.0;
    bar.update(3);  // lost a race with update(5): nothing drawn
    bar.update(5);  // same count, later time: redrawn with the new rate
  }
  EXPECT_EQ(written(),
            "\rp  0/10  0%  ETA ?"
            "\rp  5/10  50%  5.0/s  ETA 1s"
            "\rp  5/10  50%  2.5/s  ETA 2s\n");
}

TEST_F(Progress, NoRateWithoutElapsedTime) {
  {
    ProgressBar bar("p", 4, options(0.0));
    bar.update(2);  // at the start instant: no rate yet
    bar.finish();
  }
  EXPECT_EQ(written(), "\rp  0/4  0%  ETA ?\rp  2/4  50%  ETA ?\rp  2/4  50%  elapsed 0s\n");
}

TEST_F(Progress, ResumedRunCountsOnlyNewItemsInTheRate) {
  ProgressOptions opts = options(0.0);
  opts.already_done = 20;
  {
    ProgressBar bar("tune", 30, opts);
    now_ += 2.0;
    bar.update(20);  // nothing new yet
    now_ += 2.0;
    bar.update(22);  // 2 new items in 4 s: 0.5/s, 8 left: 16 s
    bar.update(21);  // below the largest seen: ignored
  }
  EXPECT_EQ(written(),
            "\rtune  20/30  66%  ETA ?"
            "\rtune  20/30  66%  ETA ?"
            "\rtune  22/30  73%  0.5/s  ETA 16s\n");
}

TEST_F(Progress, ZeroTotal) {
  {
    ProgressBar bar("empty", 0, options());
    bar.update(0);
    bar.finish();
  }
  EXPECT_EQ(written(), "\rempty  0/0  100%  ETA 0s\rempty  0/0  100%  elapsed 0s\n");
}

TEST_F(Progress, FinishIsFinal) {
  {
    ProgressBar bar("p", 3, options(0.0));
    now_ += 1.0;
    bar.update(3);
    bar.finish();
    now_ += 1.0;
    bar.update(3);  // after finish: nothing
    bar.finish();   // a second finish: nothing
    // The destructor adds no newline: the line is closed.
  }
  EXPECT_EQ(written(),
            "\rp  0/3  0%  ETA ?"
            "\rp  3/3  100%  3.0/s  ETA 0s"
            "\rp  3/3  100%  3.0/s  elapsed 1s\n");
}

TEST_F(Progress, DestructorEndsAnOpenLine) {
  try {
    ProgressBar bar("tune", 5, options());
    throw kreg::Cancelled("interrupted");
  } catch (const kreg::Cancelled&) {
  }
  EXPECT_EQ(written(), "\rtune  0/5  0%  ETA ?\n");
}

TEST_F(Progress, DisabledWritesNothing) {
  ProgressOptions opts = options(0.0);
  opts.enabled = false;
  int clock_calls = 0;
  opts.clock = [&] {
    ++clock_calls;
    return now_;
  };
  {
    ProgressBar bar("quiet", 10, opts);
    for (int i = 0; i <= 10; ++i) {
      now_ += 1.0;
      bar.update(i);
    }
    bar.finish();
  }
  EXPECT_EQ(written(), "");
  EXPECT_EQ(clock_calls, 0);
  // A disabled bar needs no stream at all.
  opts.stream = nullptr;
  ProgressBar no_stream("quiet", 1, opts);
  no_stream.update(1);
  no_stream.finish();
}

TEST_F(Progress, ArgumentErrors) {
  EXPECT_EQ(argument_error([&] { ProgressBar("tune", -1, options()); }),
            "ProgressBar 'tune': total is -1; need total >= 0");
  ProgressOptions opts = options();
  opts.already_done = 11;
  EXPECT_EQ(argument_error([&] { ProgressBar("tune", 10, opts); }),
            "ProgressBar 'tune': already_done is 11; need 0 <= it <= total 10");
  EXPECT_EQ(argument_error([&] { ProgressBar("tune", 10, options(-0.5)); }),
            "ProgressBar 'tune': min_interval_s is -0.5; need a number >= 0 (0 redraws on every "
            "update)");
  opts = options();
  opts.stream = nullptr;
  EXPECT_EQ(argument_error([&] { ProgressBar("tune", 10, opts); }),
            "ProgressBar 'tune': enabled but the stream is null; give a stream or disable the "
            "bar");
  EXPECT_EQ(written(), "");  // no failed constructor drew anything

  opts = options();
  opts.enabled = false;  // checked even when disabled, so --quiet runs catch bugs too
  ProgressBar bar("tune", 10, opts);
  EXPECT_EQ(argument_error([&] { bar.update(11); }),
            "ProgressBar 'tune': update(11) is outside [0, 10]; pass the number of items done so "
            "far");
  EXPECT_EQ(argument_error([&] { bar.update(-1); }),
            "ProgressBar 'tune': update(-1) is outside [0, 10]; pass the number of items done so "
            "far");
}

TEST_F(Progress, StderrIsTerminalMatchesIsatty) {
  EXPECT_EQ(kreg::stderr_is_terminal(), ::isatty(::fileno(stderr)) == 1);
}

TEST_F(Progress, ConcurrentUpdates) {
  // Four workers report completions as they finish items, in any order; the
  // bar must not crash or garble, and finish() must show the total.
  constexpr int kTotal = 4000;
  ProgressOptions opts = options(0.0);
  std::atomic<double> clock{0.0};
  opts.clock = [&clock] { return clock.fetch_add(0.001); };  // always moving
  {
    ProgressBar bar("par", kTotal, opts);
    std::atomic<int> completed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < kTotal / 4; ++i) bar.update(completed.fetch_add(1) + 1);
      });
    }
    for (auto& w : workers) w.join();
    bar.finish();
  }
  const std::string text = written();
  const std::string last = text.substr(text.rfind('\r'));
  EXPECT_EQ(last.rfind("\rpar  4000/4000  100%  ", 0), 0U) << last;
  EXPECT_EQ(last.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);  // one newline, at the very end
  // Every redraw is one whole line: no two writers interleaved.
  std::size_t lines = 0;
  for (std::size_t at = text.find('\r'); at != std::string::npos; at = text.find('\r', at + 1)) {
    EXPECT_EQ(text.compare(at, 6, "\rpar  "), 0) << "at byte " << at;
    ++lines;
  }
  EXPECT_GE(lines, 2U);
}

}  // namespace
