%% The Erlang side of bream-dist's interop tests (dist/tests/erl_*.rs).
%%
%% start(BreamNode): registers `mirror` (the command loop below) and a
%% gen_server `counter`, then tells the bream node's registered process
%% `ready` who it is: {ready, MirrorPid}. Every reply goes back by pid or to
%% the bream node's registered `inbox`.
-module(bream_peer).
-behaviour(gen_server).
-export([start/1, loop/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).

start(BreamNode) ->
    {ok, _} = gen_server:start({local, counter}, ?MODULE, 0, []),
    Mirror = spawn(?MODULE, loop, [BreamNode]),
    register(mirror, Mirror),
    {ready, BreamNode} ! {ready, Mirror},
    io:format("started~n").

loop(B) ->
    receive
        %% Echo M to From (bream -> erl -> bream by pid).
        {echo, From, M} -> From ! M;
        %% A fresh worker process (running this loop), sent to From.
        {spawn_worker, From} -> From ! {worker, spawn(?MODULE, loop, [B])};
        %% Exit with reason R (links and monitors on the bream side see it).
        {exit, R} -> exit(R);
        %% Link to the bream pid P, trapping exits; report the exit reason.
        {link_to, P, From} ->
            process_flag(trap_exit, true),
            link(P),
            From ! linked,
            receive {'EXIT', P, R} -> From ! {exit_seen, R} end;
        %% Monitor the bream pid P; report the Down reason.
        {monitor_it, P, From} ->
            Ref = erlang:monitor(process, P),
            From ! monitoring,
            receive {'DOWN', Ref, process, P, R} -> From ! {down_seen, R} end;
        %% Call a gen_server on the bream node; report the reply.
        {call, Server, Req, From} ->
            From ! {reply, catch gen_server:call(Server, Req, 5000)};
        %% What erl knows about its process P.
        {info, P, From} -> From ! {info, erlang:process_info(P, [monitored_by, links])};
        %% Anything else goes back to the bream node's `inbox`.
        M -> {inbox, B} ! M
    end,
    loop(B).

init(N) -> {ok, N}.
handle_call(get, _From, N) -> {reply, N, N};
handle_call({add, K}, _From, N) -> {reply, N + K, N + K}.
handle_cast({add, K}, N) -> {noreply, N + K}.
handle_info(_, N) -> {noreply, N}.
