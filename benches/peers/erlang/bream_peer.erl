%% The Erlang/OTP peer: every workload of benches/peers/README.md, defined there.
%%
%% Build: erlc -o ebin bream_peer.erl
%% Run:   erl -noshell +P 2000000 +S 2:2 -pa ebin -run bream_peer main spawn 2 1000000 0
%%        (`dist` starts a second node itself: ... main dist 2 100000 1000000)
%%
%% Prints one JSON line (the fields of README.md) and halts. `compare` passes
%% `+P` larger than the processes a workload needs (the default limit is
%% 1,048,576 and skynet spawns 1,111,111).
-module(bream_peer).
-export([main/1, dist_node/1]).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

main([Workload, Workers, A, B]) ->
    W = list_to_integer(Workers),
    erlang:system_flag(schedulers_online, min(W, erlang:system_info(schedulers))),
    Args = {list_to_integer(A), list_to_integer(B)},
    try run(list_to_atom(Workload), Args) of
        Report -> emit(Workload, W, Report), halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "bream_peer ~s failed: ~p:~p~n~p~n",
                      [Workload, Class, Reason, Stack]),
            halt(1)
    end;
main(Other) ->
    io:format(standard_error, "usage: bream_peer <workload> <workers> <a> <b>, got ~p~n", [Other]),
    halt(2).

%% ---- measurement -----------------------------------------------------------

now_ns() -> erlang:monotonic_time(nanosecond).

%% {VmRSS + VmPTE, VmHWM} in bytes, from /proc/self/status.
proc_status() ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    Lines = string:split(binary_to_list(Bin), "\n", all),
    Kb = fun(Key) ->
             [V] = [list_to_integer(string:trim(string:trim(string:prefix(L, Key ++ ":")), trailing, " kB"))
                    || L <- Lines, string:prefix(L, Key ++ ":") =/= nomatch],
             V * 1024
         end,
    {Kb("VmRSS") + Kb("VmPTE"), Kb("VmHWM")}.

mem() -> element(1, proc_status()).

%% Report: #{ns, n, ops, result, bytes (or null), extra (list of {Key, Value})}
emit(Workload, W, R = #{ns := Ns, n := N, ops := Ops}) ->
    {_, Hwm} = proc_status(),
    Fields = [{"impl", "\"erlang\""}, {"workload", "\"" ++ Workload ++ "\""},
              {"workers", integer_to_list(W)}, {"n", integer_to_list(N)},
              {"ops", integer_to_list(Ops)}, {"runs", "1"},
              {"median_ns", integer_to_list(Ns)}, {"min_ns", integer_to_list(Ns)},
              {"max_ns", integer_to_list(Ns)},
              {"per_op_ns", float_to_list(Ns / Ops, [{decimals, 3}])},
              {"bytes_per_process", json(maps:get(bytes, R, null))},
              {"result", json(maps:get(result, R, null))},
              {"peak_rss_bytes", integer_to_list(Hwm)}]
             ++ [{K, json(V)} || {K, V} <- maps:get(extra, R, [])],
    Body = lists:join(",", ["\"" ++ K ++ "\":" ++ V || {K, V} <- Fields]),
    io:format("{~s}~n", [Body]).

json(null) -> "null";
json(I) when is_integer(I) -> integer_to_list(I);
json(F) when is_float(F) -> float_to_list(F, [{decimals, 3}]).

%% "Ready"/"done" countdowns: the process that brings the counter to N tells Main.
arrive(Counters, Ix, N, Main, Msg) ->
    case atomics:add_get(Counters, Ix, 1) of
        N -> Main ! Msg, ok;
        _ -> ok
    end.

%% ---- workloads ---------------------------------------------------------------

run(spawn, {N, _}) ->
    Main = self(),
    C = atomics:new(2, []),
    Base = mem(),
    T0 = now_ns(),
    Pids = [spawn(fun() -> spawn_proc(C, N, Main) end) || _ <- lists:seq(1, N)],
    receive all_ready -> ok end,
    Peak = mem(),
    lists:foreach(fun(P) -> P ! 1 end, Pids),
    receive all_done -> ok end,
    Ns = now_ns() - T0,
    #{ns => Ns, n => N, ops => N, result => atomics:get(C, 2), bytes => (Peak - Base) / N};

run(idle, {N, _}) ->
    Main = self(),
    C = atomics:new(2, []),
    Base = mem(),
    Pids = [spawn(fun() -> idle_proc(C, N, Main) end) || _ <- lists:seq(1, N)],
    receive all_ready -> ok end,
    Idle = mem(),
    K = min(N, 1000),
    Ps = list_to_tuple(Pids),
    Rtts = [idle_ping(element(I * N div K + 1, Ps)) || I <- lists:seq(0, K - 1)],
    Rtt = lists:nth((K - 1) div 2 + 1, lists:sort(Rtts)),
    T0 = now_ns(),
    lists:foreach(fun(P) -> P ! wake end, Pids),
    receive all_done -> ok end,
    Ns = now_ns() - T0,
    #{ns => Ns, n => N, ops => N, result => atomics:get(C, 2), bytes => (Idle - Base) / N,
      extra => [{"wake_rtt_ns", Rtt}]};

run(ring, {N, Laps}) ->
    Main = self(),
    Pids = [spawn(fun() -> ring_start(Laps, N * Laps, Main) end) || _ <- lists:seq(1, N)],
    [First | _] = Pids,
    lists:foreach(fun({P, Next}) -> P ! {next, Next} end,
                  lists:zip(Pids, tl(Pids) ++ [First])),
    T0 = now_ns(),
    First ! {token, 0},
    Hops = receive {token, T} -> T end,
    Ns = now_ns() - T0,
    #{ns => Ns, n => N, ops => N * Laps, result => Hops};

run(pingpong, {N, _}) ->
    Main = self(),
    T0 = now_ns(),
    Echo = spawn(fun() -> echo(Main) end),
    Ok = pingpong(Echo, 0, N, 0),
    Echo ! stop,
    Ns = now_ns() - T0,
    #{ns => Ns, n => N, ops => N, result => Ok};

run(skynet, {N, _}) ->
    Main = self(),
    T0 = now_ns(),
    spawn(fun() -> skynet(Main, 0, N) end),
    Sum = receive S -> S end,
    Ns = now_ns() - T0,
    Sum =:= N * (N - 1) div 2 orelse error({wrong_sum, Sum}),
    #{ns => Ns, n => N, ops => N, result => Sum};

run(fanin, {Senders, PerSender}) ->
    Main = self(),
    T0 = now_ns(),
    [spawn(fun() -> fan_send(Main, 1, PerSender) end) || _ <- lists:seq(1, Senders)],
    {Count, Sum} = fan_recv(Senders * PerSender, 0, 0),
    Ns = now_ns() - T0,
    Sum =:= Senders * PerSender * (PerSender + 1) div 2 orelse error({wrong_sum, Sum}),
    #{ns => Ns, n => Senders * PerSender, ops => Senders * PerSender, result => Count};

run(selective, {Depth, Rounds}) ->
    Main = self(),
    Echo = spawn(fun() -> echo_ref() end),
    [Main ! {junk, K} || K <- lists:seq(1, Depth)],
    T0 = now_ns(),
    Ok1 = sel_rounds(Echo, 0, Rounds, 0),
    Deep = now_ns() - T0,
    Depth = drain_junk(1),
    T1 = now_ns(),
    Ok2 = sel_rounds(Echo, 0, Rounds, 0),
    Empty = now_ns() - T1,
    Echo ! stop,
    Ok2 =:= Rounds orelse error({empty_phase_wrong, Ok2}),
    #{ns => Deep, n => Depth, ops => Rounds, result => Ok1,
      extra => [{"empty_per_op_ns", Empty / Rounds}]};

run(call, {N, _}) ->
    {ok, Server} = gen_server:start(?MODULE, 0, []),
    T0 = now_ns(),
    Last = calls(Server, N, 0),
    Ns = now_ns() - T0,
    gen_server:stop(Server),
    #{ns => Ns, n => N, ops => N, result => Last};

run(timers, {N, TimeoutMs}) ->
    Main = self(),
    C = atomics:new(2, []),
    Base = mem(),
    T0 = now_ns(),
    [spawn(fun() -> timer_proc(C, N, Main, TimeoutMs) end) || _ <- lists:seq(1, N)],
    receive all_ready -> ok end,
    TReady = now_ns(),
    Alive = N - atomics:get(C, 2),
    Peak = mem(),
    receive all_done -> ok end,
    TDone = now_ns(),
    #{ns => TDone - T0, n => N, ops => N, result => atomics:get(C, 2),
      bytes => (Peak - Base) / N,
      extra => [{"alive_at_sample", Alive},
                {"late_ns", TDone - TReady - TimeoutMs * 1000000}]};

run(dist, {N, M}) ->
    %% Two nodes on loopback, each its own OS process: this one (main) and an echo
    %% node started here. Untimed: starting both nodes and connecting them.
    Main = self(),
    {Echo, Sink} = start_echo_node(),
    Echo ! {hello, Main},
    T0 = now_ns(),
    Ok = pingpong(Echo, 0, N, 0),
    Ns = now_ns() - T0,
    Sink ! {expect, M, Main},
    T1 = now_ns(),
    fan_send(Sink, 1, M),
    Sum = receive {sink_done, S} -> S end,
    OneWay = now_ns() - T1,
    Sum =:= M * (M + 1) div 2 orelse error({wrong_sum, Sum}),
    Echo ! stop,
    #{ns => Ns, n => N, ops => N, result => Ok,
      extra => [{"oneway_messages", M}, {"oneway_ns", OneWay},
                {"oneway_per_sec", M / (OneWay / 1.0e9)}]};

run(Other, _) ->
    error({unknown_workload, Other}).

%% ---- dist: the second node -----------------------------------------------------

%% Make this node distributed (short names, like `erl -sname`), starting EPMD as
%% `erl` itself would; then start the echo node as a second `erl` and wait for it
%% to report its two processes.
start_echo_node() ->
    Epmd = os:find_executable("epmd"),
    Epmd =/= false orelse error(no_epmd_on_path),
    os:cmd(Epmd ++ " -daemon"),
    Id = os:getpid(),
    {ok, _} = net_kernel:start([list_to_atom("bream_peer_main_" ++ Id), shortnames]),
    register(bream_peer_main, self()),
    Erl = os:find_executable("erl"),
    Ebin = filename:dirname(code:which(?MODULE)),
    Workers = integer_to_list(erlang:system_info(schedulers_online)),
    Args = ["-noshell", "+S", Workers ++ ":" ++ Workers,
            "-sname", "bream_peer_echo_" ++ Id,
            "-setcookie", atom_to_list(erlang:get_cookie()),
            "-pa", Ebin, "-run", ?MODULE, "dist_node", atom_to_list(node())],
    %% A process of its own owns the port, so the echo node's output (if any)
    %% never lands in main's mailbox.
    spawn(fun() ->
              Port = open_port({spawn_executable, Erl},
                               [{args, Args}, exit_status, stderr_to_stdout, binary]),
              port_owner(Port)
          end),
    receive
        {dist_ready, Echo, Sink} -> {Echo, Sink}
    after 30000 -> error(echo_node_did_not_start)
    end.

port_owner(Port) ->
    receive
        {Port, {data, D}} -> io:format(standard_error, "echo node: ~s", [D]), port_owner(Port);
        {Port, {exit_status, 0}} -> ok;
        {Port, {exit_status, S}} -> io:format(standard_error, "echo node exited ~p~n", [S])
    end.

%% The echo node's entry point: `-run bream_peer dist_node <MainNode>`.
dist_node([MainNode]) ->
    Main = list_to_atom(MainNode),
    Echo = spawn(fun() -> receive {hello, From} -> echo(From) end end),
    Sink = spawn(fun() -> receive {expect, M, From} -> From ! {sink_done, sink(M, 0)} end end),
    true = net_kernel:connect_node(Main),
    monitor_node(Main, true),
    {bream_peer_main, Main} ! {dist_ready, Echo, Sink},
    receive {nodedown, Main} -> halt(0) end.

sink(0, Sum) -> Sum;
sink(Left, Sum) -> receive I -> sink(Left - 1, Sum + I) end.

%% ---- process bodies ----------------------------------------------------------

spawn_proc(C, N, Main) ->
    arrive(C, 1, N, Main, all_ready),
    receive _Msg -> ok end,
    arrive(C, 2, N, Main, all_done).

idle_proc(C, N, Main) ->
    arrive(C, 1, N, Main, all_ready),
    idle_wait(C, N, Main).

idle_wait(C, N, Main) ->
    receive
        {ping, From} -> From ! pong, idle_wait(C, N, Main);
        wake -> arrive(C, 2, N, Main, all_done)
    end.

idle_ping(P) ->
    T = now_ns(),
    P ! {ping, self()},
    receive pong -> now_ns() - T end.

ring_start(Laps, Total, Main) ->
    receive {next, Next} -> ring_loop(Laps, Next, Total, Main) end.

ring_loop(0, _, _, _) -> ok;
ring_loop(Left, Next, Total, Main) ->
    receive
        {token, T} when T + 1 =:= Total -> Main ! {token, T + 1};
        {token, T} -> Next ! {token, T + 1}
    end,
    ring_loop(Left - 1, Next, Total, Main).

echo(Main) ->
    receive
        stop -> ok;
        I -> Main ! I, echo(Main)
    end.

pingpong(_, N, N, Ok) -> Ok;
pingpong(Echo, I, N, Ok) ->
    Echo ! I,
    receive
        I -> pingpong(Echo, I + 1, N, Ok + 1);
        _ -> pingpong(Echo, I + 1, N, Ok)
    end.

skynet(Parent, Num, 1) -> Parent ! Num;
skynet(Parent, Num, Size) ->
    Me = self(),
    Sub = Size div 10,
    [spawn(fun() -> skynet(Me, Num + I * Sub, Sub) end) || I <- lists:seq(0, 9)],
    Parent ! sum10(10, 0).

sum10(0, Acc) -> Acc;
sum10(K, Acc) -> receive S -> sum10(K - 1, Acc + S) end.

fan_send(_, I, N) when I > N -> ok;
fan_send(Main, I, N) -> Main ! I, fan_send(Main, I + 1, N).

fan_recv(0, Count, Sum) -> {Count, Sum};
fan_recv(Left, Count, Sum) -> receive I -> fan_recv(Left - 1, Count + 1, Sum + I) end.

echo_ref() ->
    receive
        stop -> ok;
        {From, Ref, I} -> From ! {Ref, I + 1}, echo_ref()
    end.

%% make_ref() and the receive on {Ref, _} in one function: the compiler marks
%% the mailbox position at make_ref, so the receive skips the backlog.
sel_rounds(_, N, N, Ok) -> Ok;
sel_rounds(Echo, I, N, Ok) ->
    Ref = make_ref(),
    Echo ! {self(), Ref, I},
    receive
        {Ref, R} ->
            Good = case R =:= I + 1 of true -> 1; false -> 0 end,
            sel_rounds(Echo, I + 1, N, Ok + Good)
    end.

drain_junk(K) ->
    receive
        {junk, K} -> drain_junk(K + 1);
        {junk, Other} -> error({backlog_out_of_order, K, Other})
    after 0 -> K - 1
    end.

calls(_, 0, Last) -> Last;
calls(Server, N, _) -> calls(Server, N - 1, gen_server:call(Server, increment)).

timer_proc(C, N, Main, TimeoutMs) ->
    arrive(C, 1, N, Main, all_ready),
    receive stop -> ok after TimeoutMs -> ok end,
    arrive(C, 2, N, Main, all_done).

%% ---- the gen_server for `call`: this module is also its callback module -----

init(Count) -> {ok, Count}.
handle_call(increment, _From, Count) -> {reply, Count + 1, Count + 1}.
handle_cast(_Msg, Count) -> {noreply, Count}.
