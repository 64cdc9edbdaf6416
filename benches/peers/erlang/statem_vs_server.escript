#!/usr/bin/env escript
%%! +S 2:2
%% OTP's own ratio of a gen_statem call round trip to a gen_server call
%% round trip, measured the way `cargo bench -p bream-bench --bench
%% gen_statem` measures bream's (`statem_call` / `server_call`): the caller
%% calls one server N times in a row and each call is answered at once, by
%% `{reply, I, S}` from handle_call/3 and by `{keep_state_and_data,
%% [{reply, From, I}]}` from handle_event/4 (handle_event_function mode).
%% Both calls pass the same timeout, 5000 ms, as the bream bench passes
%% DEFAULT_TIMEOUT to both: the call/2 defaults differ (gen_server 5000,
%% gen_statem infinity), and a finite timeout costs a timer per call, which
%% would flatter gen_statem. A second table passes infinity to both.
%%
%% OTP's design principles (system/doc/design_principles/statem.md, "When to
%% use gen_statem") put the two at "something like 2 vs 3.3 microseconds call
%% roundtrip time" (gen_server the faster); this script measures that ratio
%% on the machine at hand, so bream's ratio can be set against OTP's under the
%% same load. Not a `compare` peer (README.md): a reference for one bench.
%%
%% Usage: escript benches/peers/erlang/statem_vs_server.escript [Calls [Rounds]]
%% (2 schedulers, as the bench's 2 workers; default 200000 calls, 7 rounds,
%% the two kinds interleaved so that a change of load hits both alike).
-mode(compile).
-export([init/1, handle_call/3, handle_cast/2, callback_mode/0, handle_event/4]).

main(Args) ->
    {N, Rounds} = case Args of
                      [] -> {200000, 7};
                      [A] -> {list_to_integer(A), 7};
                      [A, R | _] -> {list_to_integer(A), list_to_integer(R)}
                  end,
    {ok, Server} = gen_server:start(?MODULE, server, []),
    {ok, Machine} = gen_statem:start(?MODULE, statem, []),
    [compare(Server, Machine, Timeout, N, Rounds) || Timeout <- [5000, infinity]],
    ok.

compare(Server, Machine, Timeout, N, Rounds) ->
    Server_call = fun(I) -> gen_server:call(Server, I, Timeout) end,
    Statem_call = fun(I) -> gen_statem:call(Machine, I, Timeout) end,
    _ = {per_call(Server_call, N div 10), per_call(Statem_call, N div 10)},
    Pairs = [{per_call(Server_call, N), per_call(Statem_call, N)}
             || _ <- lists:seq(1, Rounds)],
    [io:format("server_call ~7.1f ns  statem_call ~7.1f ns  ratio ~.3f~n",
               [S, M, M / S]) || {S, M} <- Pairs],
    Ratios = lists:sort([M / S || {S, M} <- Pairs]),
    Median = lists:nth((length(Ratios) + 1) div 2, Ratios),
    io:format("OTP ~s, ~b schedulers, timeout ~p: median ratio statem_call / server_call = ~.3f~n~n",
              [erlang:system_info(otp_release), erlang:system_info(schedulers), Timeout, Median]).

%% Nanoseconds per call over N calls.
per_call(Call, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    loop(Call, N),
    (erlang:monotonic_time(nanosecond) - T0) / N.

loop(_, 0) -> ok;
loop(Call, I) -> I = Call(I), loop(Call, I - 1).

%% Both behaviours' callbacks: init/1 tells them apart by its argument.
init(server) -> {ok, nostate};
init(statem) -> {ok, idle, nodata}.

handle_call(I, _From, S) -> {reply, I, S}.
handle_cast(_, S) -> {noreply, S}.

callback_mode() -> handle_event_function.
handle_event({call, From}, I, _State, _Data) ->
    {keep_state_and_data, [{reply, From, I}]}.
