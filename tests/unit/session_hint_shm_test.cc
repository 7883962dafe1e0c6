// The connection's session over shared memory: a request naming the session the connection's
// last one read is confirmed where the store keeps it, without the store's lock
// (ShmStore::StillHolds), and still sees at once whatever any process did to it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/crypto.h"
#include "core/session.h"
#include "core/session_cookie.h"
#include "fakes.h"
#include "platform/shm_store.h"
#include "shm_mapping.h"

namespace coinpay {
namespace {

using coinpay::testing::SharedMapping;

SessionRecord Alice() {
  SessionRecord r;
  r.provider = "coinbase";
  r.sub = "user-123";
  r.user = "alice@example.com";
  r.claims = {{"email", "alice@example.com"}};
  r.claims_json = R"({"sub":"user-123"})";
  r.id_token = "id.tok.en";
  r.access_token = std::string(900, 'a');  // in blocks of the pool, as a real record
  r.refresh_token = "rt";
  return r;
}

class SessionsOnSharedMemoryTest : public ::testing::Test {
 protected:
  static constexpr size_t kCapacity = 64;
  static constexpr size_t kEntry = 4096;

  SessionsOnSharedMemoryTest() {
    mapping_ = std::make_unique<SharedMapping>(ShmStore::RegionSize(kCapacity, kEntry));
    store_ = MakeStore(*mapping_);
    auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
    EXPECT_TRUE(attached.ok());
    other_store_ = std::move(*attached);
    sessions_ = std::make_unique<Sessions>(*store_, config_, random_);
    other_process_ = std::make_unique<Sessions>(*other_store_, config_, random_);
  }
  static std::unique_ptr<ShmStore> MakeStore(SharedMapping& m) {
    auto store = ShmStore::Create(m.base(), m.size(), kCapacity, kEntry);
    EXPECT_TRUE(store.ok());
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string SignIn(const SessionRecord& r = Alice()) {
    auto id = sessions_->Create(r, clock_.NowSeconds());
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : std::string();
  }
  // One request on the connection: the session it finds (nullptr: none).
  const Sessions::Loaded* Request(const std::string& id, Sessions* by = nullptr,
                                  SessionReadHint* on = nullptr) {
    const std::string header = config_.cookie_name + "=" + id;
    const ModuleCookies found = FindModuleCookies(config_, header);
    auto loaded = (by != nullptr ? by : sessions_.get())
                      ->Load(found.session_ids.span(), clock_.NowSeconds(),
                             SessionParts::kTimesOnly, on != nullptr ? *on : connection_);
    EXPECT_TRUE(loaded.ok());
    return loaded.ok() ? *loaded : nullptr;
  }
  // Requests until the connection knows where the store keeps its session.
  void Settle(const std::string& id) {
    ASSERT_NE(Request(id), nullptr);
    ASSERT_NE(Request(id), nullptr);
    ASSERT_NE(connection_.where, 0u);
  }

  testing::FakeClock clock_;
  testing::FakeRandom random_;
  SessionConfig config_;
  std::unique_ptr<SharedMapping> mapping_;
  std::unique_ptr<ShmStore> store_;
  std::unique_ptr<ShmStore> other_store_;  // another httpd child's view of the same region
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<Sessions> other_process_;
  SessionReadHint connection_;
};

TEST_F(SessionsOnSharedMemoryTest,
       TheConnectionsSessionIsConfirmedWhileAnotherProcessHoldsTheLock) {
  const std::string id = SignIn();
  Settle(id);
  const Sessions::Loaded* before = connection_.loaded ? &*connection_.loaded : nullptr;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t holder = fork();
  if (holder == 0) {
    char c = store_->LockForTesting().ok() ? 'l' : 'x';
    (void)!write(ready[1], &c, 1);
    pause();  // holds the lock until killed
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'l');
  alarm(10);  // a request that waited for the lock would hang here: the alarm fails the test
  const Sessions::Loaded* now = Request(id);
  alarm(0);
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now, before) << "returned as it was kept: nothing built";
  EXPECT_EQ(now->stored->view->user, "alice@example.com");
  EXPECT_NE(Request(id), nullptr) << "the dead holder's lock is recovered";
}

TEST_F(SessionsOnSharedMemoryTest, ALogoutInAnotherProcessIsSeenByTheNextRequest) {
  const std::string id = SignIn();
  Settle(id);
  ASSERT_TRUE(other_process_->Destroy(id).ok());
  EXPECT_EQ(Request(id), nullptr);
  EXPECT_FALSE(connection_.loaded.has_value()) << "the connection keeps nothing of it";
  EXPECT_EQ(Request(id), nullptr);
}

TEST_F(SessionsOnSharedMemoryTest, ARewriteInAnotherProcessIsSeenByTheNextRequest) {
  const std::string id = SignIn();
  Settle(id);
  auto changed = other_process_->Update(
      id, [](SessionRecord& r) { r.user = "alice.new@example.com"; }, clock_.NowSeconds());
  ASSERT_TRUE(changed.ok() && *changed);
  const Sessions::Loaded* after = Request(id);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->stored->view->user, "alice.new@example.com");
}

TEST_F(SessionsOnSharedMemoryTest, AnExpiredSessionIsNotConfirmed) {
  const std::string id = SignIn();
  Settle(id);
  clock_.Advance(config_.idle_timeout_seconds);
  EXPECT_EQ(Request(id), nullptr);
  clock_.Advance(-config_.idle_timeout_seconds);
  EXPECT_EQ(Request(id), nullptr) << "and it was erased, not only refused";
}

TEST_F(SessionsOnSharedMemoryTest, ASlotReusedByAnotherSessionIsNotTakenForTheConnections) {
  const std::string alice = SignIn();
  Settle(alice);
  const uint64_t where = connection_.where;
  ASSERT_TRUE(other_process_->Destroy(alice).ok());
  SessionRecord b = Alice();
  b.user = "bob@example.com";
  const std::string bob = SignIn(b);
  SessionReadHint bobs_connection;
  ASSERT_NE(Request(bob, nullptr, &bobs_connection), nullptr);
  ASSERT_NE(Request(bob, nullptr, &bobs_connection), nullptr);
  ASSERT_EQ(bobs_connection.where, where) << "the case this guards against: the slot reused";
  EXPECT_EQ(Request(alice), nullptr);
  const Sessions::Loaded* as_bob = Request(bob);
  ASSERT_NE(as_bob, nullptr);
  EXPECT_EQ(as_bob->stored->view->user, "bob@example.com");
}

TEST_F(SessionsOnSharedMemoryTest, AStoreMadeAgainOverTheRegionEndsEverySession) {
  const std::string id = SignIn();
  Settle(id);
  ASSERT_NE(MakeStore(*mapping_), nullptr);  // everything flushed
  EXPECT_EQ(Request(id), nullptr);
}

TEST_F(SessionsOnSharedMemoryTest, ASessionKeptFromAnotherStoreIsNeverTakenForCurrent) {
  // Another store object on its own region, filled the same way: the same id (the fake random
  // repeats it) in the same slot at the same version is another session there, as it would be
  // for a store object made later at the same address.
  const std::string alice = SignIn();
  Settle(alice);
  SharedMapping elsewhere_region(ShmStore::RegionSize(kCapacity, kEntry));
  std::unique_ptr<ShmStore> elsewhere_store = MakeStore(elsewhere_region);
  testing::FakeRandom random;
  Sessions elsewhere(*elsewhere_store, config_, random);
  SessionRecord b = Alice();
  b.user = "bob@example.com";
  auto bob = elsewhere.Create(b, clock_.NowSeconds());
  ASSERT_TRUE(bob.ok());
  ASSERT_EQ(*bob, alice);
  const Sessions::Loaded* there = Request(*bob, &elsewhere);
  ASSERT_NE(there, nullptr);
  EXPECT_EQ(there->stored->view->user, "bob@example.com");
  const Sessions::Loaded* here = Request(alice);
  ASSERT_NE(here, nullptr);
  EXPECT_EQ(here->stored->view->user, "alice@example.com");
}

TEST_F(SessionsOnSharedMemoryTest, ARequestNeverGetsARecordAnotherProcessHasReplacedOrEnded) {
  // A writer (another process) rewrites, ends and signs in again while this connection's
  // requests run. Every version below `gone_below` was replaced or erased by a completed call;
  // a request that starts after that must never be given one.
  const std::string id = SignIn();
  const std::string key = Sha256(id);
  auto version_now = [&] {
    auto got = other_store_->Get(key, clock_.NowSeconds());
    return got.ok() && got->has_value() ? (*got)->version : 0;
  };
  std::atomic<uint64_t> gone_below{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 1500; ++i) {
      auto changed = other_process_->Update(
          id, [&](SessionRecord& r) { r.user = "alice-" + std::to_string(i); },
          clock_.NowSeconds());
      if (changed.ok() && *changed) {
        gone_below.store(version_now());
      }
      if (i % 3 == 0) {
        const uint64_t last = version_now();
        ASSERT_TRUE(other_process_->Destroy(id).ok());
        gone_below.store(last + 1);
        // The same id signed in again (as a test may write it): a new version, maybe elsewhere.
        ASSERT_TRUE(other_store_
                        ->Put(key, EncodeSession([&] {
                                SessionRecord r = Alice();
                                r.created_at = clock_.NowSeconds();
                                r.last_seen_at = clock_.NowSeconds();
                                return r;
                              }()),
                              clock_.NowSeconds() + 3600)
                        .ok());
        gone_below.store(version_now());
      }
    }
    stop.store(true);
  });
  int wrong = 0;
  int served = 0;
  while (!stop.load()) {
    const uint64_t gone = gone_below.load();
    const Sessions::Loaded* got = Request(id);
    if (got != nullptr) {
      ++served;
      if (got->version < gone) {
        ++wrong;
      }
    }
  }
  writer.join();
  EXPECT_EQ(wrong, 0) << "of " << served << " requests served";
  const Sessions::Loaded* last = Request(id);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->version, version_now());
}

}  // namespace
}  // namespace coinpay
